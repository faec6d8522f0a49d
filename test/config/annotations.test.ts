import { describe, expect, it } from 'vitest';
import { applyAnnotations, CONFIG_PATH_ANNOTATION, parseConfig, type KataConfig } from '../../src/config/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';

const FILE = '/etc/kata-containers/configuration.toml';
const HV = 'io.katacontainers.config.hypervisor.';

function config(qemuLines = ''): KataConfig {
  return parseConfig(`[hypervisor.qemu]\n${qemuLines}\n`, FILE, { cpus: 4, memoryMiB: 8192 });
}

function refusal(c: KataConfig, annotations: Record<string, string>): RuntimeError {
  try {
    applyAnnotations(c, annotations);
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.INVALID_ARGUMENT);
    return err as RuntimeError;
  }
  throw new Error('expected the annotations to be refused');
}

describe('applyAnnotations: the enable_annotations gate', () => {
  it('refuses a hypervisor annotation outside enable_annotations, naming it and the allowlist', () => {
    const err = refusal(config(), { [`${HV}default_memory`]: '4096' });
    expect(err.message).toBe(
      `annotation ${HV}default_memory is not enabled: no entry of [hypervisor.qemu] enable_annotations = ` +
        `["enable_iommu","kernel_params","kernel_verity_params"] in ${FILE} matches "default_memory"`,
    );
  });

  it('applies an allowed annotation and returns a new frozen config', () => {
    const base = config('enable_annotations = ["default_memory"]');
    const c = applyAnnotations(base, { [`${HV}default_memory`]: '4096' });
    expect(c.hypervisor.defaultMemoryMiB).toBe(4096);
    expect(base.hypervisor.defaultMemoryMiB).toBe(2048);
    expect(Object.isFrozen(c.hypervisor)).toBe(true);
    expect(c.source).toBe(FILE);
  });

  it('matches entries as unanchored regexps, as Go regexp.MatchString does', () => {
    const c = applyAnnotations(config('enable_annotations = ["default_.*"]'), {
      [`${HV}default_vcpus`]: '2',
      [`${HV}default_max_vcpus`]: '3',
    });
    expect(c.hypervisor.defaultVcpus).toBe(2);
    expect(c.hypervisor.defaultMaxVcpus).toBe(3);
    // "memory" appears inside "default_memory": unanchored, so it is enabled.
    expect(applyAnnotations(config('enable_annotations = ["memory"]'), { [`${HV}default_memory`]: '1024' }).hypervisor
      .defaultMemoryMiB).toBe(1024);
  });

  it('checks every hypervisor annotation before applying any, even unsupported ones', () => {
    const err = refusal(config(), { [`${HV}kernel_params`]: 'quiet', [`${HV}msize_9p`]: '8192' });
    expect(err.message).toContain(`annotation ${HV}msize_9p is not enabled`);
  });

  it('appends kernel_params (enabled by default) after the configured ones', () => {
    const c = applyAnnotations(config('kernel_params = "console=hvc0"'), { [`${HV}kernel_params`]: ' debug  ' });
    expect(c.hypervisor.kernelParams).toBe('console=hvc0 debug');
  });

  it("starts its refusal with Kata's own message (pkg/oci/utils.go addAnnotations), word for word", () => {
    const err = refusal(config('enable_annotations = []'), { [`${HV}kernel_params`]: 'quiet' });
    expect(err.message.startsWith(`annotation ${HV}kernel_params is not enabled`)).toBe(true);
  });

  it('gates hypervisor names Kata does not know either: Kata checks every key under the prefix', () => {
    expect(refusal(config(), { [`${HV}frobnicate`]: '1' }).message).toContain(`annotation ${HV}frobnicate is not enabled`);
    const c = applyAnnotations(config('enable_annotations = ["frob"]'), { [`${HV}frobnicate`]: '1' });
    expect(c.warnings).toEqual([`annotation ${HV}frobnicate: not an annotation Kata knows; ignored, as Kata does`]);
  });

  it('names the first refused key in sorted order (Go ranges over a map: any one of them)', () => {
    const err = refusal(config(), { [`${HV}memory_slots`]: '4', [`${HV}default_memory`]: '4096' });
    expect(err.message).toContain(`annotation ${HV}default_memory is not enabled`);
  });

  it('ignores Kata annotations this runtime does not implement once past the gate, with a warning', () => {
    const c = applyAnnotations(config('enable_annotations = [".*"]'), { [`${HV}msize_9p`]: '8192' });
    expect(c.warnings).toEqual([`annotation ${HV}msize_9p: Kata applies it but this runtime does not implement it; ignored`]);
  });

  it('applies disable_vhost_net, which Kata reads too', () => {
    const c = applyAnnotations(config('enable_annotations = ["disable_vhost_net"]'), { [`${HV}disable_vhost_net`]: 'true' });
    expect(c.hypervisor.disableVhostNet).toBe(true);
  });

  it('applies disable_image_nvdimm and reclaim_guest_freed_memory both ways, as Kata does', () => {
    const allowed = 'enable_annotations = ["disable_image_nvdimm", "reclaim_guest_freed_memory"]';
    const on = applyAnnotations(config(allowed), { [`${HV}disable_image_nvdimm`]: 'true', [`${HV}reclaim_guest_freed_memory`]: 'true' });
    expect(on.hypervisor).toMatchObject({ disableImageNvdimm: true, reclaimGuestFreedMemory: true });
    expect(on.warnings).toEqual([]);
    const off = applyAnnotations(config(`${allowed}\ndisable_image_nvdimm = true\nreclaim_guest_freed_memory = true`), {
      [`${HV}disable_image_nvdimm`]: 'false',
      [`${HV}reclaim_guest_freed_memory`]: 'false',
    });
    expect(off.hypervisor).toMatchObject({ disableImageNvdimm: false, reclaimGuestFreedMemory: false });
  });

  it('refuses reclaim_guest_freed_memory outside enable_annotations, and a value that is not a bool', () => {
    expect(refusal(config(), { [`${HV}reclaim_guest_freed_memory`]: 'true' }).message).toContain(
      `annotation ${HV}reclaim_guest_freed_memory is not enabled`,
    );
    const err = refusal(config('enable_annotations = ["reclaim_guest_freed_memory"]'), { [`${HV}reclaim_guest_freed_memory`]: 'yes' });
    expect(err.message).toContain(`${HV}reclaim_guest_freed_memory`);
  });

  it('leaves the config untouched when no Kata annotation is present', () => {
    const base = config();
    expect(applyAnnotations(base, { 'io.kubernetes.cri.container-type': 'sandbox', [CONFIG_PATH_ANNOTATION]: '/x' })).toBe(
      base,
    );
  });
});

describe('applyAnnotations: paths', () => {
  it('refuses a hypervisor path outside valid_hypervisor_paths', () => {
    const err = refusal(config('enable_annotations = ["path"]'), { [`${HV}path`]: '/tmp/evil-qemu' });
    expect(err.message).toBe(
      `annotation ${HV}path = "/tmp/evil-qemu": not allowed by [hypervisor.qemu] valid_hypervisor_paths = ` +
        `["/usr/bin/qemu-system-x86_64"] in ${FILE}`,
    );
  });

  it('accepts a hypervisor path matching a valid_hypervisor_paths glob', () => {
    const c = applyAnnotations(
      config('enable_annotations = ["path"]\nvalid_hypervisor_paths = ["/usr/bin/qemu-system-*"]'),
      { [`${HV}path`]: '/usr/bin/qemu-system-aarch64' },
    );
    expect(c.hypervisor.path).toBe('/usr/bin/qemu-system-aarch64');
    // "*" does not cross a directory separator.
    expect(() =>
      applyAnnotations(config('enable_annotations = ["path"]\nvalid_hypervisor_paths = ["/usr/*"]'), {
        [`${HV}path`]: '/usr/bin/qemu-system-x86_64',
      }),
    ).toThrow(/not allowed/);
  });

  it('checks virtio_fs_daemon against valid_virtio_fs_daemon_paths', () => {
    const base = config('enable_annotations = ["virtio_fs_daemon"]');
    expect(applyAnnotations(base, { [`${HV}virtio_fs_daemon`]: '/usr/libexec/virtiofsd' }).hypervisor.virtioFsDaemon).toBe(
      '/usr/libexec/virtiofsd',
    );
    expect(refusal(base, { [`${HV}virtio_fs_daemon`]: '/tmp/virtiofsd' }).message).toContain(
      'not allowed by [hypervisor.qemu] valid_virtio_fs_daemon_paths',
    );
  });

  it('requires absolute asset paths', () => {
    expect(refusal(config('enable_annotations = ["kernel"]'), { [`${HV}kernel`]: 'vmlinux' }).message).toBe(
      `annotation ${HV}kernel = "vmlinux": expected an absolute path`,
    );
  });
});

describe("applyAnnotations: Kata's value checks", () => {
  const all = config('enable_annotations = [".*"]');

  it.each([
    ['default_memory', '128', 'at least 256 MiB'],
    ['default_memory', 'lots', 'a non-negative integer number of MiB'],
    ['default_vcpus', '5', 'at most the 4 host CPUs'],
    ['default_vcpus', '-1', 'a positive number of vCPUs'],
    ['default_max_vcpus', '8', 'at most the 4 host CPUs'],
    ['enable_iommu', 'yes', 'a boolean ("true" or "false")'],
    ['shared_fs', 'none', 'one of "virtio-9p", "virtio-fs"'],
    ['virtio_fs_extra_args', '--foo', 'a JSON array of strings'],
  ])('refuses %s = %s', (suffix, value, expected) => {
    expect(refusal(all, { [`${HV}${suffix}`]: value }).message).toBe(
      `annotation ${HV}${suffix} = ${JSON.stringify(value)}: expected ${expected}`,
    );
  });

  it('accepts fractional vCPUs and Go boolean spellings', () => {
    const c = applyAnnotations(all, { [`${HV}default_vcpus`]: '0.5', [`${HV}enable_iommu`]: 'T' });
    expect(c.hypervisor.defaultVcpus).toBe(0.5);
    expect(c.hypervisor.enableIommu).toBe(true);
  });

  it('refuses combinations that cannot boot', () => {
    expect(refusal(all, { [`${HV}default_vcpus`]: '3', [`${HV}default_max_vcpus`]: '2' }).message).toBe(
      'annotations: default_vcpus 3 exceeds default_maxvcpus 2',
    );
  });
});

describe('applyAnnotations: runtime and agent', () => {
  it('applies runtime and agent annotations without an enable_annotations entry, as Kata does', () => {
    const c = applyAnnotations(config(), {
      'io.katacontainers.config.runtime.disable_guest_seccomp': 'false',
      'io.katacontainers.config.runtime.create_container_timeout': '300',
      'io.katacontainers.config.agent.kernel_modules': 'e1000e InterruptThrottleRate=3000; i915 enable_ppgtt=0',
      'io.katacontainers.config.agent.enable_tracing': 'true',
      'io.katacontainers.enable_vcpus_pinning': 'true',
    });
    expect(c.runtime.disableGuestSeccomp).toBe(false);
    expect(c.runtime.createContainerTimeoutSec).toBe(300);
    expect(c.runtime.enableVcpusPinning).toBe(true);
    expect(c.agent.kernelModules).toEqual(['e1000e InterruptThrottleRate=3000', 'i915 enable_ppgtt=0']);
    expect(c.agent.enableTracing).toBe(true);
  });

  it('checks runtime values', () => {
    expect(refusal(config(), { 'io.katacontainers.config.runtime.internetworking_model': 'bridge' }).message).toBe(
      'annotation io.katacontainers.config.runtime.internetworking_model = "bridge": expected one of "tcfilter", "macvtap", "none"',
    );
    expect(
      refusal(config(), { 'io.katacontainers.config.runtime.disable_new_netns': 'true' }).message,
    ).toContain('disable_new_netns requires internetworking_model "none"');
  });

  it('does not treat inherited object keys as annotation names', () => {
    const c = applyAnnotations(config(), { 'io.katacontainers.config.agent.constructor': 'x' });
    expect(c.warnings).toEqual(['annotation io.katacontainers.config.agent.constructor: not an annotation Kata knows; ignored, as Kata does']);
  });

  it('has no gate for runtime, agent and other io.katacontainers.* names, even with enable_annotations empty', () => {
    const c = applyAnnotations(config('enable_annotations = []'), {
      'io.katacontainers.config.runtime.sandbox_cgroup_only': 'true',
      'io.katacontainers.config.agent.enable_tracing': 'true',
      'io.katacontainers.enable_vcpus_pinning': 'true',
    });
    expect(c.runtime.sandboxCgroupOnly).toBe(true);
    expect(c.agent.enableTracing).toBe(true);
    expect(c.runtime.enableVcpusPinning).toBe(true);
    expect(c.warnings).toEqual([]);
  });

  it("accepts io.katacontainers.* names Kata does not read (Kata ignores them), warning about the config families' ones", () => {
    const c = applyAnnotations(config(), {
      'io.katacontainers.config.runtime.disable_guest_secomp': 'true', // a typo
      'io.katacontainers.config.agent.policy': 'cGFja2FnZSBhZ2VudF9wb2xpY3k=',
      'io.katacontainers.config.agent.container_pipe_size': '65536',
    });
    expect(c.warnings).toEqual([
      'annotation io.katacontainers.config.agent.container_pipe_size: Kata applies it but this runtime does not implement it; ignored',
      'annotation io.katacontainers.config.agent.policy: Kata applies it but this runtime does not implement it; ignored',
      'annotation io.katacontainers.config.runtime.disable_guest_secomp: not an annotation Kata knows; ignored, as Kata does',
    ]);
    expect(c.runtime.disableGuestSeccomp).toBe(config().runtime.disableGuestSeccomp);
  });

  it('leaves names outside the config families to their own readers, silently', () => {
    const base = config();
    const annotations = {
      'io.katacontainers.pkg.oci.bundle_path': '/run/bundle',
      'io.katacontainers.container.resource.swappiness': '10',
      'io.katacontainers.config.unknown_family.x': '1',
    };
    expect(applyAnnotations(base, annotations)).toBe(base);
  });
});
