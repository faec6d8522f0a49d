// The validated, immutable runtime configuration: Kata's configuration.toml keys in
// camelCase. Units are part of the field name wherever the TOML key leaves them implicit.

/** QEMU accelerator choice (our own key): `auto` = kvm when usable, else tcg. */
export type Accel = 'kvm' | 'tcg' | 'auto';
export const ACCELS: readonly Accel[] = ['kvm', 'tcg', 'auto'];

export type SharedFs = 'virtio-fs' | 'virtio-9p' | 'virtio-fs-nydus' | 'none';
export const SHARED_FS_KINDS: readonly SharedFs[] = ['virtio-fs', 'virtio-9p', 'virtio-fs-nydus', 'none'];

export type BlockDeviceDriver = 'virtio-scsi' | 'virtio-blk' | 'virtio-mmio' | 'nvdimm' | 'virtio-blk-ccw';
export const BLOCK_DEVICE_DRIVERS: readonly BlockDeviceDriver[] = [
  'virtio-scsi',
  'virtio-blk',
  'virtio-mmio',
  'nvdimm',
  'virtio-blk-ccw',
];

/** Cache modes of both virtiofsd flavours: the C daemon (auto/always/none) and the Rust one. */
export type VirtioFsCache = 'auto' | 'always' | 'never' | 'none' | 'metadata';
export const VIRTIO_FS_CACHE_MODES: readonly VirtioFsCache[] = ['auto', 'always', 'never', 'none', 'metadata'];

export type RootfsType = 'ext4' | 'xfs' | 'erofs';
export const ROOTFS_TYPES: readonly RootfsType[] = ['ext4', 'xfs', 'erofs'];

export type InternetworkingModel = 'tcfilter' | 'macvtap' | 'none';
export const INTERNETWORKING_MODELS: readonly InternetworkingModel[] = ['tcfilter', 'macvtap', 'none'];

export type VfioMode = 'guest-kernel' | 'vfio';
export const VFIO_MODES: readonly VfioMode[] = ['guest-kernel', 'vfio'];

export type EmptydirMode = 'shared-fs' | 'block-encrypted';
export const EMPTYDIR_MODES: readonly EmptydirMode[] = ['shared-fs', 'block-encrypted'];

/** `extra_monitor_socket`: a second QEMU monitor for tools ("" = none), as Kata's govmm names them. */
export type ExtraMonitorSocket = '' | 'hmp' | 'qmp' | 'qmp-pretty';
export const EXTRA_MONITOR_SOCKETS: readonly ExtraMonitorSocket[] = ['', 'hmp', 'qmp', 'qmp-pretty'];

/** Host facts the normalisations depend on (Kata reads them at load time too). */
export interface HostFacts {
  readonly cpus: number;
  readonly memoryMiB: number;
}

/** [hypervisor.qemu]. `type` discriminates once other hypervisors are added. */
export interface QemuConfig {
  readonly type: 'qemu';
  readonly path: string;
  readonly kernel: string;
  /** Empty when not used. This project's guest boots with both an initrd and an image. */
  readonly initrd: string;
  readonly image: string;
  readonly rootfsType: RootfsType;
  readonly machineType: string;
  readonly kernelParams: string;
  readonly firmware: string;
  readonly machineAccelerators: string;
  readonly cpuFeatures: string;
  readonly accel: Accel;
  /**
   * Under TCG, the translation cache in MiB (QEMU's `tb-size`, our own key), with all vCPUs
   * on one TCG thread; 0: QEMU's own (1 GiB, a thread per vCPU). See docs/performance.md.
   */
  readonly tcgTbSizeMiB: number;
  /** May be fractional (Kata 3.x); the VM boots with ceil(defaultVcpus). */
  readonly defaultVcpus: number;
  readonly defaultMaxVcpus: number;
  readonly defaultMemoryMiB: number;
  readonly memorySlots: number;
  readonly defaultMaxMemoryMiB: number;
  readonly memoryOffsetMiB: number;
  readonly defaultBridges: number;
  readonly defaultRootPorts: number;
  readonly sharedFs: SharedFs;
  readonly virtioFsDaemon: string;
  readonly validVirtioFsDaemonPaths: readonly string[];
  readonly virtioFsCache: VirtioFsCache;
  readonly virtioFsCacheSizeMiB: number;
  readonly virtioFsExtraArgs: readonly string[];
  /** Regexps matched (unanchored, like Go's regexp.MatchString) against annotation suffixes. */
  readonly enableAnnotations: readonly string[];
  /** Glob patterns a `path` annotation must match. */
  readonly validHypervisorPaths: readonly string[];
  readonly blockDeviceDriver: BlockDeviceDriver;
  readonly disableBlockDeviceUse: boolean;
  readonly enableVirtioMem: boolean;
  readonly enableDebug: boolean;
  readonly useLegacySerial: boolean;
  readonly entropySource: string;
  /** Attach the root image as virtio-blk instead of an NVDIMM mapped with DAX. */
  readonly disableImageNvdimm: boolean;
  /** virtio-balloon with free page reporting: pages the guest frees leave QEMU's RSS. */
  readonly reclaimGuestFreedMemory: boolean;
  readonly enableIothreads: boolean;
  readonly enableHugepages: boolean;
  readonly enableMemPrealloc: boolean;
  readonly enableIommu: boolean;
  /** vhost-net is used only when KVM runs the VM and /dev/vhost-net opens; this turns it off. */
  readonly disableVhostNet: boolean;
  /** A second monitor socket at <run dir>/extra-monitor.sock, for tools; ours stays connected. */
  readonly extraMonitorSocket: ExtraMonitorSocket;
}

/** The union grows when more hypervisors are supported. */
export type HypervisorConfig = QemuConfig;

/** [agent.kata] */
export interface AgentConfig {
  readonly enableDebug: boolean;
  readonly enableTracing: boolean;
  /** Each entry: module name followed by its parameters, as Kata passes them to modprobe. */
  readonly kernelModules: readonly string[];
  readonly debugConsoleEnabled: boolean;
  readonly dialTimeoutSec: number;
  readonly cdhApiTimeoutSec: number;
}

/** [runtime] */
export interface RuntimeConfig {
  readonly enableDebug: boolean;
  readonly enableTracing: boolean;
  readonly internetworkingModel: InternetworkingModel;
  readonly disableGuestSeccomp: boolean;
  readonly sandboxCgroupOnly: boolean;
  readonly staticSandboxResourceMgmt: boolean;
  readonly disableNewNetns: boolean;
  readonly enableVcpusPinning: boolean;
  readonly sandboxBindMounts: readonly string[];
  readonly experimental: readonly string[];
  readonly enablePprof: boolean;
  readonly createContainerTimeoutSec: number;
  readonly vfioMode: VfioMode;
  readonly emptydirMode: EmptydirMode;
  readonly disableGuestEmptyDir: boolean;
}

/** [factory]: parsed for compatibility, not implemented (VM templates/caches). */
export interface FactoryConfig {
  readonly enableTemplate: boolean;
  readonly templatePath: string;
  readonly vmCacheNumber: number;
  readonly vmCacheEndpoint: string;
}

export interface KataConfig {
  /** The file this configuration was read from. */
  readonly source: string;
  readonly hypervisor: HypervisorConfig;
  readonly agent: AgentConfig;
  readonly runtime: RuntimeConfig;
  readonly factory: FactoryConfig;
  /** Host facts the normalisations used; annotations are checked against them too. */
  readonly host: HostFacts;
  /** Log-worthy but non-fatal findings: unknown keys, clamped values, ignored annotations. */
  readonly warnings: readonly string[];
}
