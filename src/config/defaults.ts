// Values for keys missing from configuration.toml. They are the values of Kata 3.32's
// generated configuration-qemu.toml (src/runtime/config/configuration-qemu.toml.in with
// the amd64 Makefile options), except the install paths, which are this project's.
// Numeric "0 = unset" sentinels are resolved afterwards by normalise.ts, as Kata's code does.
import { deepFreeze } from './deep-freeze.js';
import type { AgentConfig, FactoryConfig, QemuConfig, RuntimeConfig } from './types.js';

/** Where Kata looks when neither an explicit path nor KATA_CONF_FILE is given, in order. */
export const DEFAULT_CONFIG_PATHS: readonly string[] = Object.freeze([
  '/etc/kata-containers/configuration.toml',
  '/usr/share/defaults/kata-containers/configuration.toml',
]);

/** Env variable that overrides the default lookup (Kata's name). */
export const CONFIG_ENV_VAR = 'KATA_CONF_FILE';

/** Kata's MinHypervisorMemory: smaller default_memory values fall back to the default. */
export const MIN_HYPERVISOR_MEMORY_MIB = 256;
/** govmm.MaxVCPUs() on amd64. */
export const QEMU_MAX_VCPUS = 240;
/** Kata's maxPCIBridges and maxPCIeRootPorts. */
export const MAX_PCI_BRIDGES = 5;
export const MAX_PCIE_ROOT_PORTS = 16;

export const QEMU_PATH = '/usr/bin/qemu-system-x86_64';
export const KERNEL_PATH = '/usr/share/kata-containers/vmlinux.container';
export const INITRD_PATH = '/usr/share/kata-containers/kata-containers-initrd.img';
export const IMAGE_PATH = '/usr/share/kata-containers/kata-containers.img';
/** Debian ships the C virtiofsd inside the QEMU package, not as /usr/libexec/virtiofsd. */
export const VIRTIOFSD_PATH = '/usr/lib/qemu/virtiofsd';
export const RUST_VIRTIOFSD_PATH = '/usr/libexec/virtiofsd';

export const QEMU_DEFAULTS: QemuConfig = deepFreeze({
  type: 'qemu',
  path: QEMU_PATH,
  kernel: KERNEL_PATH,
  initrd: INITRD_PATH,
  image: IMAGE_PATH,
  rootfsType: 'ext4',
  machineType: 'q35',
  kernelParams: 'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1',
  firmware: '',
  machineAccelerators: '',
  cpuFeatures: 'pmu=off',
  accel: 'auto',
  tcgTbSizeMiB: 0,
  defaultVcpus: 1,
  defaultMaxVcpus: 0,
  defaultMemoryMiB: 2048,
  memorySlots: 10,
  defaultMaxMemoryMiB: 0,
  memoryOffsetMiB: 0,
  defaultBridges: 1,
  defaultRootPorts: 0,
  sharedFs: 'virtio-fs',
  virtioFsDaemon: VIRTIOFSD_PATH,
  validVirtioFsDaemonPaths: [VIRTIOFSD_PATH, RUST_VIRTIOFSD_PATH],
  virtioFsCache: 'auto',
  virtioFsCacheSizeMiB: 0,
  // Kata's ["--thread-pool-size=1","--announce-submounts"], spelled for the C daemon,
  // which takes announce_submounts as an -o option.
  virtioFsExtraArgs: ['--thread-pool-size=1', '-o', 'announce_submounts'],
  enableAnnotations: ['enable_iommu', 'kernel_params', 'kernel_verity_params'],
  validHypervisorPaths: [QEMU_PATH],
  blockDeviceDriver: 'virtio-scsi',
  disableBlockDeviceUse: true,
  enableVirtioMem: false,
  enableDebug: false,
  useLegacySerial: false,
  entropySource: '/dev/urandom',
  disableImageNvdimm: false,
  reclaimGuestFreedMemory: false,
  enableIothreads: false,
  enableHugepages: false,
  enableMemPrealloc: false,
  enableIommu: false,
  disableVhostNet: false,
  extraMonitorSocket: '',
});

export const AGENT_DEFAULTS: AgentConfig = deepFreeze({
  enableDebug: false,
  enableTracing: false,
  kernelModules: [],
  debugConsoleEnabled: false,
  dialTimeoutSec: 45,
  cdhApiTimeoutSec: 50,
});

export const RUNTIME_DEFAULTS: RuntimeConfig = deepFreeze({
  enableDebug: false,
  enableTracing: false,
  internetworkingModel: 'tcfilter',
  disableGuestSeccomp: true,
  sandboxCgroupOnly: false,
  staticSandboxResourceMgmt: false,
  disableNewNetns: false,
  enableVcpusPinning: false,
  sandboxBindMounts: [],
  experimental: [],
  enablePprof: false,
  createContainerTimeoutSec: 60,
  vfioMode: 'guest-kernel',
  emptydirMode: 'shared-fs',
  disableGuestEmptyDir: false,
});

export const FACTORY_DEFAULTS: FactoryConfig = deepFreeze({
  enableTemplate: false,
  templatePath: '/run/vc/vm/template',
  vmCacheNumber: 0,
  vmCacheEndpoint: '/var/run/kata-containers/cache.sock',
});
