import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type KataConfig } from '../../src/config/index.js';
import { Code } from '../../src/errors/index.js';

const FILE = '/etc/kata-containers/configuration.toml';
const HOST = { cpus: 4, memoryMiB: 8192 };

function parse(text: string, host = HOST): KataConfig {
  return parseConfig(text, FILE, host);
}

function parseError(text: string, host = HOST): ConfigError {
  try {
    parseConfig(text, FILE, host);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

// Shaped like Kata 3.32's configuration-qemu.toml, every key we implement set to a
// non-default value, plus a few Kata keys this runtime only tolerates.
const KATA_QEMU_TOML = `
[hypervisor.qemu]
path = "/opt/kata/bin/qemu-system-x86_64"
kernel = "/opt/kata/share/kata-containers/vmlinux.container"
initrd = ""
image = "/opt/kata/share/kata-containers/kata-containers.img"
rootfs_type = "erofs"
machine_type = "microvm"
kernel_params = "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
firmware = "/opt/kata/share/ovmf/OVMF.fd"
machine_accelerators = " kernel_irqchip=on , ,nvdimm=on"
cpu_features = "pmu=off,+vmx"
accel = "tcg"
tcg_tb_size = 128
default_vcpus = 1.5
default_maxvcpus = 3
default_memory = 1024
memory_slots = 4
default_maxmemory = 4096
memory_offset = 64
default_bridges = 2
default_root_ports = 3
shared_fs = "virtio-9p"
virtio_fs_daemon = "/opt/kata/libexec/virtiofsd"
valid_virtio_fs_daemon_paths = ["/opt/kata/libexec/virtiofsd"]
virtio_fs_cache = "never"
virtio_fs_cache_size = 512
virtio_fs_extra_args = ["--thread-pool-size=1", "--announce-submounts"]
enable_annotations = ["enable_iommu", "kernel_params", "default_.*"]
valid_hypervisor_paths = ["/opt/kata/bin/qemu-system-x86_64"]
block_device_driver = "virtio-blk"
disable_block_device_use = false
enable_virtio_mem = true
enable_debug = true
use_legacy_serial = true
entropy_source = "/dev/random"
disable_image_nvdimm = true
reclaim_guest_freed_memory = true
enable_iothreads = true
enable_hugepages = true
enable_mem_prealloc = true
enable_iommu = true
disable_vhost_net = true
extra_monitor_socket = "qmp"
msize_9p = 8192
disable_selinux = false
block_device_aio = "io_uring"

[factory]
enable_template = false
template_path = "/run/vc/vm/template"
vm_cache_number = 0

[agent.kata]
enable_debug = true
enable_tracing = true
kernel_modules = ["e1000e InterruptThrottleRate=3000", " i915 "]
debug_console_enabled = true
dial_timeout = 30
cdh_api_timeout = 20

[runtime]
enable_debug = true
enable_tracing = true
internetworking_model = "none"
disable_guest_seccomp = false
sandbox_cgroup_only = true
static_sandbox_resource_mgmt = true
disable_new_netns = true
enable_vcpus_pinning = true
sandbox_bind_mounts = ["/opt/data", "/srv/logs:ro"]
experimental = []
enable_pprof = true
create_container_timeout = 120
vfio_mode = "vfio"
emptydir_mode = "block-encrypted"
disable_guest_empty_dir = true
dan_conf = "/run/kata-containers/dans"
`;

describe('parseConfig: Kata keys', () => {
  it('loads every documented key of a Kata-style configuration-qemu.toml', () => {
    const c = parse(KATA_QEMU_TOML);
    expect(c.source).toBe(FILE);
    expect(c.hypervisor).toEqual({
      type: 'qemu',
      path: '/opt/kata/bin/qemu-system-x86_64',
      kernel: '/opt/kata/share/kata-containers/vmlinux.container',
      initrd: '',
      image: '/opt/kata/share/kata-containers/kata-containers.img',
      rootfsType: 'erofs',
      machineType: 'microvm',
      kernelParams: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
      firmware: '/opt/kata/share/ovmf/OVMF.fd',
      machineAccelerators: 'kernel_irqchip=on,nvdimm=on',
      cpuFeatures: 'pmu=off,+vmx',
      accel: 'tcg',
      tcgTbSizeMiB: 128,
      defaultVcpus: 1.5,
      defaultMaxVcpus: 3,
      defaultMemoryMiB: 1024,
      memorySlots: 4,
      defaultMaxMemoryMiB: 4096,
      memoryOffsetMiB: 64,
      defaultBridges: 2,
      defaultRootPorts: 3,
      sharedFs: 'virtio-9p',
      virtioFsDaemon: '/opt/kata/libexec/virtiofsd',
      validVirtioFsDaemonPaths: ['/opt/kata/libexec/virtiofsd'],
      virtioFsCache: 'never',
      virtioFsCacheSizeMiB: 512,
      virtioFsExtraArgs: ['--thread-pool-size=1', '--announce-submounts'],
      enableAnnotations: ['enable_iommu', 'kernel_params', 'default_.*'],
      validHypervisorPaths: ['/opt/kata/bin/qemu-system-x86_64'],
      blockDeviceDriver: 'virtio-blk',
      disableBlockDeviceUse: false,
      enableVirtioMem: true,
      enableDebug: true,
      useLegacySerial: true,
      entropySource: '/dev/random',
      disableImageNvdimm: true,
      reclaimGuestFreedMemory: true,
      enableIothreads: true,
      enableHugepages: true,
      enableMemPrealloc: true,
      enableIommu: true,
      disableVhostNet: true,
      extraMonitorSocket: 'qmp',
    });
    expect(c.agent).toEqual({
      enableDebug: true,
      enableTracing: true,
      kernelModules: ['e1000e InterruptThrottleRate=3000', 'i915'],
      debugConsoleEnabled: true,
      dialTimeoutSec: 30,
      cdhApiTimeoutSec: 20,
    });
    expect(c.runtime).toEqual({
      enableDebug: true,
      enableTracing: true,
      internetworkingModel: 'none',
      disableGuestSeccomp: false,
      sandboxCgroupOnly: true,
      staticSandboxResourceMgmt: true,
      disableNewNetns: true,
      enableVcpusPinning: true,
      sandboxBindMounts: ['/opt/data', '/srv/logs:ro'],
      experimental: [],
      enablePprof: true,
      createContainerTimeoutSec: 120,
      vfioMode: 'vfio',
      emptydirMode: 'block-encrypted',
      disableGuestEmptyDir: true,
    });
    expect(c.factory.enableTemplate).toBe(false);
    expect(c.host).toEqual(HOST);
  });

  it('tolerates Kata keys it does not implement, with one warning naming those that are set', () => {
    const c = parse(KATA_QEMU_TOML);
    expect(c.warnings).toEqual([
      `${FILE}: [hypervisor.qemu] msize_9p, block_device_aio: Kata keys not implemented by this runtime, ignored`,
      `${FILE}: [runtime] dan_conf: Kata keys not implemented by this runtime, ignored`,
    ]);
  });

  it('warns about unknown keys and sections instead of failing', () => {
    const c = parse('[hypervisor.qemu]\nfrobnicate = 1\n[agent.kata]\nspeed = "fast"\n[image]\nprovision = ""\n');
    expect(c.warnings).toEqual([
      `${FILE}: image: unknown top-level key or section, ignored`,
      `${FILE}: [hypervisor.qemu] frobnicate: unknown key, ignored`,
      `${FILE}: [agent.kata] speed: unknown key, ignored`,
    ]);
  });
});

describe('parseConfig: defaults', () => {
  it("gives missing keys Kata 3.32's defaults, with this project's install paths", () => {
    const c = parse('[hypervisor.qemu]\n[agent.kata]\n[runtime]\n');
    expect(c.warnings).toEqual([]);
    const h = c.hypervisor;
    expect(h.path).toBe('/usr/bin/qemu-system-x86_64');
    expect(h.kernel).toBe('/usr/share/kata-containers/vmlinux.container');
    expect(h.initrd).toBe('/usr/share/kata-containers/kata-containers-initrd.img');
    expect(h.image).toBe('/usr/share/kata-containers/kata-containers.img');
    expect(h.virtioFsDaemon).toBe('/usr/lib/qemu/virtiofsd');
    expect(h.validVirtioFsDaemonPaths).toEqual(['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd']);
    expect(h.validHypervisorPaths).toEqual(['/usr/bin/qemu-system-x86_64']);
    expect(h).toMatchObject({
      machineType: 'q35',
      rootfsType: 'ext4',
      kernelParams: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
      enableAnnotations: ['enable_iommu', 'kernel_params', 'kernel_verity_params'],
      cpuFeatures: 'pmu=off',
      tcgTbSizeMiB: 0,
      machineAccelerators: '',
      firmware: '',
      accel: 'auto',
      defaultVcpus: 1,
      defaultMaxVcpus: HOST.cpus, // 0 = host CPUs
      defaultMemoryMiB: 2048,
      memorySlots: 10,
      defaultMaxMemoryMiB: HOST.memoryMiB, // 0 = host RAM
      memoryOffsetMiB: 0,
      defaultBridges: 1,
      defaultRootPorts: 0,
      sharedFs: 'virtio-fs',
      virtioFsCache: 'auto',
      virtioFsCacheSizeMiB: 0,
      blockDeviceDriver: 'virtio-scsi',
      disableBlockDeviceUse: true,
      enableVirtioMem: false,
      entropySource: '/dev/urandom',
      disableImageNvdimm: false,
      extraMonitorSocket: '',
    });
    expect(c.agent).toEqual({
      enableDebug: false,
      enableTracing: false,
      kernelModules: [],
      debugConsoleEnabled: false,
      dialTimeoutSec: 45,
      cdhApiTimeoutSec: 50,
    });
    expect(c.runtime).toMatchObject({
      internetworkingModel: 'tcfilter',
      disableGuestSeccomp: true,
      staticSandboxResourceMgmt: false,
      sandboxCgroupOnly: false,
      createContainerTimeoutSec: 60,
      vfioMode: 'guest-kernel',
      emptydirMode: 'shared-fs',
    });
  });

  it('uses the defaults, with a warning, when there is no hypervisor section at all', () => {
    const c = parse('');
    expect(c.hypervisor.type).toBe('qemu');
    expect(c.hypervisor.defaultMemoryMiB).toBe(2048);
    expect(c.warnings).toEqual([`${FILE}: no [hypervisor.qemu] section, using the defaults`]);
  });
});

describe("parseConfig: Kata's normalisations", () => {
  const qemu = (lines: string, host = HOST): KataConfig => parse(`[hypervisor.qemu]\n${lines}\n`, host);

  it('default_vcpus < 0 or above the host CPUs becomes the host CPU count; 0 becomes 1', () => {
    expect(qemu('default_vcpus = -1').hypervisor.defaultVcpus).toBe(4);
    const big = qemu('default_vcpus = 8');
    expect(big.hypervisor.defaultVcpus).toBe(4);
    expect(big.warnings[0]).toContain('default_vcpus = 8: more than the 4 host CPUs, using 4');
    expect(qemu('default_vcpus = 0').hypervisor.defaultVcpus).toBe(1);
    expect(qemu('default_vcpus = 0.5').hypervisor.defaultVcpus).toBe(0.5);
  });

  it('default_maxvcpus 0 becomes the host CPU count, capped at 240', () => {
    expect(qemu('default_maxvcpus = 0', { cpus: 2, memoryMiB: 4096 }).hypervisor.defaultMaxVcpus).toBe(2);
    expect(qemu('default_maxvcpus = 0', { cpus: 512, memoryMiB: 4096 }).hypervisor.defaultMaxVcpus).toBe(240);
    expect(qemu('default_maxvcpus = 300', { cpus: 512, memoryMiB: 4096 }).hypervisor.defaultMaxVcpus).toBe(240);
  });

  it('keeps a default_maxvcpus above the host CPU count (TCG hotplug tests need it), with a warning', () => {
    const c = qemu('default_maxvcpus = 4', { cpus: 2, memoryMiB: 4096 });
    expect(c.hypervisor.defaultMaxVcpus).toBe(4);
    expect(c.warnings[0]).toContain('default_maxvcpus = 4: more than the 2 host CPUs (Kata would use 2); kept');
  });

  it('default_memory below 256 MiB becomes 2048; default_maxmemory 0 becomes host RAM', () => {
    const small = qemu('default_memory = 128');
    expect(small.hypervisor.defaultMemoryMiB).toBe(2048);
    expect(small.warnings[0]).toContain("default_memory = 128: below Kata's minimum of 256 MiB, using 2048 MiB");
    expect(qemu('default_memory = 512').hypervisor.defaultMemoryMiB).toBe(512);
    expect(qemu('default_maxmemory = 0').hypervisor.defaultMaxMemoryMiB).toBe(8192);
    expect(qemu('default_maxmemory = 100000').hypervisor.defaultMaxMemoryMiB).toBe(8192);
  });

  it('zero memory_slots and default_bridges mean the defaults; bridges are capped at 5', () => {
    const c = qemu('memory_slots = 0\ndefault_bridges = 0');
    expect(c.hypervisor.memorySlots).toBe(10);
    expect(c.hypervisor.defaultBridges).toBe(1);
    expect(qemu('default_bridges = 9').hypervisor.defaultBridges).toBe(5);
  });

  it.each(['', 'hmp', 'qmp', 'qmp-pretty'] as const)('extra_monitor_socket = "%s" is a monitor protocol of Kata (no warning)', (v) => {
    const c = parse(`[hypervisor.qemu]\nextra_monitor_socket = "${v}"\n`);
    expect(c.hypervisor.extraMonitorSocket).toBe(v);
    expect(c.warnings).toEqual([]);
  });

  it('refuses a default_maxvcpus below default_vcpus', () => {
    expect(parseError('[hypervisor.qemu]\ndefault_vcpus = 3\ndefault_maxvcpus = 2\n').message).toBe(
      `${FILE}: [hypervisor.qemu] default_maxvcpus = 2: expected at least default_vcpus (3)`,
    );
  });
});

describe('parseConfig: errors', () => {
  it('reports invalid TOML with the file, line and column', () => {
    const err = parseError('[hypervisor.qemu]\npath = "/usr/bin/qemu"\ndefault_memory = = 2\n');
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(new RegExp(`^${FILE}: invalid TOML at line 3, column \\d+: `));
    expect(err.line).toBe(3);
    expect(err.file).toBe(FILE);
  });

  it.each([
    ['default_memory = "lots"', 'default_memory = "lots": expected an integer number of MiB'],
    ['default_memory = -512', 'default_memory = -512: expected a non-negative integer number of MiB'],
    ['default_memory = 1.5', 'default_memory = 1.5: expected an integer number of MiB'],
    ['shared_fs = "nfs"', 'shared_fs = "nfs": expected one of "virtio-fs", "virtio-9p", "virtio-fs-nydus", "none"'],
    ['accel = "hvf"', 'accel = "hvf": expected one of "kvm", "tcg", "auto"'],
    ['tcg_tb_size = 16', "tcg_tb_size = 16: expected 0 (QEMU's own size) or at least 32 MiB"],
    ['tcg_tb_size = 4096', 'tcg_tb_size = 4096: expected an integer number of MiB no larger than 2048'],
    ['tcg_tb_size = 64.5', 'tcg_tb_size = 64.5: expected an integer number of MiB'],
    ['extra_monitor_socket = "telnet"', 'extra_monitor_socket = "telnet": expected one of "", "hmp", "qmp", "qmp-pretty"'],
    ['enable_debug = "yes"', 'enable_debug = "yes": expected true or false'],
    ['kernel = "vmlinux"', 'kernel = "vmlinux": expected an absolute path or ""'],
    ['default_vcpus = "two"', 'default_vcpus = "two": expected a number of vCPUs (integer or float)'],
    ['enable_annotations = "kernel_params"', 'enable_annotations = "kernel_params": expected an array of strings'],
    ['enable_annotations = ["("]', 'enable_annotations = ["("]: expected an array of regular expressions ("(" does not compile)'],
    ['virtio_fs_daemon = ""', 'virtio_fs_daemon = "": expected the virtiofsd path, since shared_fs = "virtio-fs"'],
    ['initrd = ""\nimage = ""', 'initrd = "" and image = "": expected at least one guest root (initrd or image)'],
  ])('names the file, key, value and expectation: %s', (line, message) => {
    const err = parseError(`[hypervisor.qemu]\n${line}\n`);
    expect(err.message).toBe(`${FILE}: [hypervisor.qemu] ${message}`);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.section).toBe('hypervisor.qemu');
  });

  it('checks [agent.kata] and [runtime] values too', () => {
    expect(parseError('[agent.kata]\ndial_timeout = "45s"\n').message).toBe(
      `${FILE}: [agent.kata] dial_timeout = "45s": expected an integer number of seconds`,
    );
    expect(parseError('[runtime]\ninternetworking_model = "bridged"\n').message).toBe(
      `${FILE}: [runtime] internetworking_model = "bridged": expected one of "tcfilter", "macvtap", "none"`,
    );
    expect(parseError('[runtime]\ndisable_new_netns = true\n').message).toContain(
      'disable_new_netns = true: expected internetworking_model = "none"',
    );
    expect(parseError('[runtime]\nexperimental = ["newstore"]\n').message).toContain(
      '[runtime] experimental = ["newstore"]: expected known experimental features',
    );
    expect(parseError('[runtime]\nsandbox_bind_mounts = ["/a/x", "/b/x"]\n').message).toContain(
      'expected paths with distinct base names ("x" repeats)',
    );
  });

  it('refuses other hypervisors with a message naming the section', () => {
    const err = parseError('[hypervisor.clh]\npath = "/usr/bin/cloud-hypervisor"\n');
    expect(err.message).toBe(
      `${FILE}: [hypervisor.clh]: hypervisor "clh" is not supported by this runtime (supported: qemu)`,
    );
    expect(err.section).toBe('hypervisor.clh');
    expect(parseError('[hypervisor.qemu]\n[hypervisor.firecracker]\n').message).toContain('[hypervisor.firecracker]');
  });

  it('refuses a section that is not a table', () => {
    expect(parseError('runtime = 5\n').message).toBe(`${FILE}: runtime = 5: expected a table ([runtime])`);
  });
});

describe('parseConfig: immutability', () => {
  it('returns a deeply frozen object: writes throw', () => {
    const c = parse('[hypervisor.qemu]\n');
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c.hypervisor as { defaultMemoryMiB: number }).defaultMemoryMiB = 1;
    }).toThrow(TypeError);
    expect(() => {
      (c.hypervisor.enableAnnotations as string[]).push('.*');
    }).toThrow(TypeError);
    expect(() => {
      (c.warnings as string[]).push('x');
    }).toThrow(TypeError);
    expect(() => {
      (c.host as { cpus: number }).cpus = 99;
    }).toThrow(TypeError);
  });

  it('does not share mutable state between loads', () => {
    const a = parse('[hypervisor.qemu]\n');
    const b = parse('[hypervisor.qemu]\ndefault_memory = 512\n');
    expect(a.hypervisor.defaultMemoryMiB).toBe(2048);
    expect(b.hypervisor.defaultMemoryMiB).toBe(512);
  });
});
