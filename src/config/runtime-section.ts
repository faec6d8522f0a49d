// [runtime]: sandbox-wide behaviour of the shim.
import { ConfigError } from './config-error.js';
import { RUNTIME_DEFAULTS } from './defaults.js';
import type { SectionReader } from './section-reader.js';
import { EMPTYDIR_MODES, INTERNETWORKING_MODELS, VFIO_MODES, type RuntimeConfig } from './types.js';

const KATA_ONLY_KEYS: ReadonlySet<string> = new Set([
  'jaeger_endpoint', 'jaeger_user', 'jaeger_password', 'guest_selinux_label', 'dan_conf',
  'kubelet_root_dir', 'experimental_force_guest_pull', 'pod_resource_api_sock',
]);

/** Experimental features this runtime knows; Kata refuses unknown names, so do we. */
export const EXPERIMENTAL_FEATURES: readonly string[] = [];

export function readRuntimeSection(r: SectionReader): RuntimeConfig {
  const d = RUNTIME_DEFAULTS;
  const runtime: RuntimeConfig = {
    enableDebug: r.bool('enable_debug', d.enableDebug),
    enableTracing: r.bool('enable_tracing', d.enableTracing),
    internetworkingModel: r.oneOf('internetworking_model', d.internetworkingModel, INTERNETWORKING_MODELS),
    disableGuestSeccomp: r.bool('disable_guest_seccomp', d.disableGuestSeccomp),
    sandboxCgroupOnly: r.bool('sandbox_cgroup_only', d.sandboxCgroupOnly),
    staticSandboxResourceMgmt: r.bool('static_sandbox_resource_mgmt', d.staticSandboxResourceMgmt),
    disableNewNetns: r.bool('disable_new_netns', d.disableNewNetns),
    enableVcpusPinning: r.bool('enable_vcpus_pinning', d.enableVcpusPinning),
    sandboxBindMounts: bindMounts(r),
    experimental: experimental(r),
    enablePprof: r.bool('enable_pprof', d.enablePprof),
    createContainerTimeoutSec:
      r.uint('create_container_timeout', d.createContainerTimeoutSec, { unit: 'seconds' }) || d.createContainerTimeoutSec,
    vfioMode: r.oneOf('vfio_mode', d.vfioMode, VFIO_MODES),
    emptydirMode: r.oneOf('emptydir_mode', d.emptydirMode, EMPTYDIR_MODES),
    disableGuestEmptyDir: r.bool('disable_guest_empty_dir', d.disableGuestEmptyDir),
  };
  // Kata's checkNetNsConfig: without a new netns only the "none" model makes sense.
  if (runtime.disableNewNetns && runtime.internetworkingModel !== 'none') {
    throw new ConfigError(
      `${r.file}: [${r.section}] disable_new_netns = true: expected internetworking_model = "none" ` +
        `(it is "${runtime.internetworkingModel}")`,
      { file: r.file, section: r.section, key: 'disable_new_netns' },
    );
  }
  r.warnUnread(KATA_ONLY_KEYS);
  return runtime;
}

/** Kata bind-mounts each path at its base name in the guest, so base names must differ. */
function bindMounts(r: SectionReader): readonly string[] {
  const mounts = r.stringArray('sandbox_bind_mounts', RUNTIME_DEFAULTS.sandboxBindMounts);
  const bases = new Set<string>();
  for (const m of mounts) {
    const path = m.replace(/:(ro|rw)$/, '');
    if (!path.startsWith('/')) throw r.fail('sandbox_bind_mounts', mounts, `absolute paths (${JSON.stringify(m)} is not)`);
    const base = path.replace(/\/+$/, '').split('/').pop() ?? '';
    if (bases.has(base)) throw r.fail('sandbox_bind_mounts', mounts, `paths with distinct base names ("${base}" repeats)`);
    bases.add(base);
  }
  return mounts;
}

function experimental(r: SectionReader): readonly string[] {
  const features = r.stringArray('experimental', RUNTIME_DEFAULTS.experimental);
  for (const f of features) {
    if (!EXPERIMENTAL_FEATURES.includes(f)) {
      const known = EXPERIMENTAL_FEATURES.length ? EXPERIMENTAL_FEATURES.join(', ') : 'none are supported';
      throw r.fail('experimental', features, `known experimental features (${JSON.stringify(f)} is not; ${known})`);
    }
  }
  return features;
}
