// What each supported Kata annotation changes (oci/utils.go addHypervisorConfigOverrides,
// addRuntimeConfigOverrides, addAgentConfigOverrides). Each entry reads the value, checks
// it like Kata does, and writes into a mutable draft of the configuration.
import { invalidArgument } from '../errors/index.js';
import type { AnnotationValue } from './annotation-value.js';
import { MIN_HYPERVISOR_MEMORY_MIB, QEMU_MAX_VCPUS } from './defaults.js';
import { anyGlobMatches } from './kata-match.js';
import { EXPERIMENTAL_FEATURES } from './runtime-section.js';
import {
  BLOCK_DEVICE_DRIVERS,
  INTERNETWORKING_MODELS,
  VFIO_MODES,
  VIRTIO_FS_CACHE_MODES,
  type AgentConfig,
  type HostFacts,
  type QemuConfig,
  type RuntimeConfig,
} from './types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface ConfigDraft {
  readonly source: string;
  readonly host: HostFacts;
  readonly hypervisor: Mutable<QemuConfig>;
  readonly agent: Mutable<AgentConfig>;
  readonly runtime: Mutable<RuntimeConfig>;
}

export type Override = (d: ConfigDraft, v: AnnotationValue) => void;

function allowedPath(d: ConfigDraft, v: AnnotationValue, tomlKey: string, globs: readonly string[]): string {
  const path = v.absolutePath();
  if (!anyGlobMatches(globs, path)) {
    throw invalidArgument(
      `annotation ${v.key} = ${JSON.stringify(path)}: not allowed by [hypervisor.qemu] ${tomlKey} = ` +
        `${JSON.stringify(globs)} in ${d.source}`,
    );
  }
  return path;
}

const setIfNonEmpty =
  (field: 'machineType' | 'machineAccelerators' | 'cpuFeatures'): Override =>
  (d, v) => {
    if (v.raw !== '') d.hypervisor[field] = v.raw;
  };

type BoolField = {
  [K in keyof QemuConfig]: QemuConfig[K] extends boolean ? K : never;
}[keyof QemuConfig];
const setBool =
  (field: BoolField): Override =>
  (d, v) => {
    d.hypervisor[field] = v.bool();
  };

const maxVcpus: Override = (d, v) => {
  const n = v.uint('vCPUs');
  if (n > d.host.cpus) throw v.fail(`at most the ${d.host.cpus} host CPUs`);
  if (n > QEMU_MAX_VCPUS) throw v.fail(`at most ${QEMU_MAX_VCPUS} vCPUs (QEMU's limit)`);
  d.hypervisor.defaultMaxVcpus = n;
};

/** Keyed by the suffix after io.katacontainers.config.hypervisor. */
export const HYPERVISOR_OVERRIDES: Readonly<Record<string, Override>> = {
  path: (d, v) => {
    d.hypervisor.path = allowedPath(d, v, 'valid_hypervisor_paths', d.hypervisor.validHypervisorPaths);
  },
  kernel: (d, v) => {
    d.hypervisor.kernel = v.absolutePath();
  },
  initrd: (d, v) => {
    d.hypervisor.initrd = v.absolutePath();
  },
  image: (d, v) => {
    d.hypervisor.image = v.absolutePath();
  },
  firmware: (d, v) => {
    d.hypervisor.firmware = v.absolutePath();
  },
  // Appended: later kernel parameters win in the guest.
  kernel_params: (d, v) => {
    const extra = v.raw.trim();
    if (extra !== '') d.hypervisor.kernelParams = [d.hypervisor.kernelParams, extra].filter((p) => p !== '').join(' ');
  },
  machine_type: setIfNonEmpty('machineType'),
  machine_accelerators: setIfNonEmpty('machineAccelerators'),
  cpu_features: setIfNonEmpty('cpuFeatures'),
  default_vcpus: (d, v) => {
    const n = v.nonNegativeFloat('a positive number of vCPUs');
    if (n === 0) throw v.fail('a positive number of vCPUs');
    if (n > d.host.cpus) throw v.fail(`at most the ${d.host.cpus} host CPUs`);
    d.hypervisor.defaultVcpus = n;
  },
  default_max_vcpus: maxVcpus,
  // Not Kata's spelling (that is default_max_vcpus), but the TOML key's; accepted for symmetry.
  default_maxvcpus: maxVcpus,
  default_memory: (d, v) => {
    const n = v.uint('MiB');
    if (n < MIN_HYPERVISOR_MEMORY_MIB) throw v.fail(`at least ${MIN_HYPERVISOR_MEMORY_MIB} MiB`);
    d.hypervisor.defaultMemoryMiB = n;
  },
  memory_slots: (d, v) => {
    const n = v.uint('slots');
    if (n > 0) d.hypervisor.memorySlots = n;
  },
  memory_offset: (d, v) => {
    const n = v.uint('MiB');
    if (n > 0) d.hypervisor.memoryOffsetMiB = n;
  },
  enable_virtio_mem: setBool('enableVirtioMem'),
  enable_mem_prealloc: setBool('enableMemPrealloc'),
  reclaim_guest_freed_memory: setBool('reclaimGuestFreedMemory'),
  enable_hugepages: setBool('enableHugepages'),
  enable_iommu: setBool('enableIommu'),
  disable_block_device_use: setBool('disableBlockDeviceUse'),
  enable_iothreads: setBool('enableIothreads'),
  disable_image_nvdimm: setBool('disableImageNvdimm'),
  use_legacy_serial: setBool('useLegacySerial'),
  disable_vhost_net: setBool('disableVhostNet'),
  block_device_driver: (d, v) => {
    d.hypervisor.blockDeviceDriver = v.oneOf(BLOCK_DEVICE_DRIVERS);
  },
  // Kata's annotation accepts only these two, unlike the TOML key.
  shared_fs: (d, v) => {
    d.hypervisor.sharedFs = v.oneOf(['virtio-9p', 'virtio-fs'] as const);
  },
  virtio_fs_daemon: (d, v) => {
    d.hypervisor.virtioFsDaemon = allowedPath(
      d,
      v,
      'valid_virtio_fs_daemon_paths',
      d.hypervisor.validVirtioFsDaemonPaths,
    );
  },
  virtio_fs_cache: (d, v) => {
    d.hypervisor.virtioFsCache = v.oneOf(VIRTIO_FS_CACHE_MODES);
  },
  virtio_fs_cache_size: (d, v) => {
    d.hypervisor.virtioFsCacheSizeMiB = v.uint('MiB');
  },
  virtio_fs_extra_args: (d, v) => {
    d.hypervisor.virtioFsExtraArgs = [...d.hypervisor.virtioFsExtraArgs, ...v.jsonStringArray()];
  },
};

/** Keyed by the suffix after io.katacontainers.config.runtime. Kata does not gate these. */
export const RUNTIME_OVERRIDES: Readonly<Record<string, Override>> = {
  disable_guest_seccomp: (d, v) => {
    d.runtime.disableGuestSeccomp = v.bool();
  },
  sandbox_cgroup_only: (d, v) => {
    d.runtime.sandboxCgroupOnly = v.bool();
  },
  disable_new_netns: (d, v) => {
    d.runtime.disableNewNetns = v.bool();
  },
  create_container_timeout: (d, v) => {
    d.runtime.createContainerTimeoutSec = v.uint('seconds');
  },
  internetworking_model: (d, v) => {
    d.runtime.internetworkingModel = v.oneOf(INTERNETWORKING_MODELS);
  },
  vfio_mode: (d, v) => {
    d.runtime.vfioMode = v.oneOf(VFIO_MODES);
  },
  experimental: (d, v) => {
    const features = v.raw.split(' ').filter((f) => f !== '');
    const unknown = features.find((f) => !EXPERIMENTAL_FEATURES.includes(f));
    if (unknown !== undefined) throw v.fail(`known experimental features (${JSON.stringify(unknown)} is not)`);
    d.runtime.experimental = features;
  },
};

/** Keyed by the suffix after io.katacontainers.config.agent. Kata does not gate these. */
export const AGENT_OVERRIDES: Readonly<Record<string, Override>> = {
  // "e1000e InterruptThrottleRate=3000; i915 enable_ppgtt=0": modules separated by ";".
  kernel_modules: (d, v) => {
    d.agent.kernelModules = v.raw
      .split(';')
      .map((m) => m.trim())
      .filter((m) => m !== '');
  },
  enable_tracing: (d, v) => {
    d.agent.enableTracing = v.bool();
  },
};

export const enableVcpusPinning: Override = (d, v) => {
  d.runtime.enableVcpusPinning = v.bool();
};
