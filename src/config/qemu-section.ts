// [hypervisor.qemu]: typed reads with Kata's key names, then Kata's normalisations.
import { ConfigError } from './config-error.js';
import { QEMU_DEFAULTS } from './defaults.js';
import { compileRegexp } from './kata-match.js';
import { normaliseQemu } from './qemu-normalise.js';
import type { SectionReader } from './section-reader.js';
import {
  ACCELS,
  BLOCK_DEVICE_DRIVERS,
  EXTRA_MONITOR_SOCKETS,
  ROOTFS_TYPES,
  SHARED_FS_KINDS,
  VIRTIO_FS_CACHE_MODES,
  type HostFacts,
  type QemuConfig,
} from './types.js';

/** Keys of Kata's [hypervisor.qemu] this runtime accepts but does not implement. */
const KATA_ONLY_KEYS: ReadonlySet<string> = new Set([
  'jailer_path', 'valid_jailer_paths', 'firmware_volume', 'pflashes', 'kernel_verity_params',
  'block_device_aio', 'block_device_cache_set', 'block_device_cache_direct', 'block_device_cache_noflush',
  'virtio_fs_queue_size', 'msize_9p', 'enable_iommu_platform', 'enable_numa', 'numa_mapping',
  'hot_plug_vfio', 'cold_plug_vfio', 'hotplug_vfio_on_root_bus', 'pcie_root_port', 'pcie_switch_port',
  'disable_selinux', 'disable_guest_selinux', 'disable_seccomp', 'seccompsandbox', 'enable_guest_swap',
  'rootless', 'guest_hook_path', 'guest_memory_dump_path', 'guest_memory_dump_paging',
  'enable_vhost_user_store', 'vhost_user_store_path', 'valid_vhost_user_store_paths',
  'vhost_user_reconnect_timeout_sec', 'file_mem_backend', 'valid_file_mem_backends',
  'valid_entropy_sources', 'rx_rate_limiter_max_rate', 'tx_rate_limiter_max_rate',
  'indep_iothreads', 'confidential_guest', 'sev_snp_guest',
  'hypervisor_loglevel', 'disable_nesting_checks',
  'tdx_quote_generation_service_socket_port',
]);

const UINT64_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * QEMU takes any tb-size, but a cache smaller than one boot's hot code retranslates all the
 * time (measured: 40 MiB made a container's first start 75 % slower than 64); QEMU 7.2's
 * buffer is at most 2 GiB.
 */
const TCG_TB_SIZE_MIN_MIB = 32;
const TCG_TB_SIZE_MAX_MIB = 2048;

function tcgTbSize(r: SectionReader, fallback: number): number {
  const v = r.uint('tcg_tb_size', fallback, { unit: 'MiB', max: TCG_TB_SIZE_MAX_MIB });
  if (v !== 0 && v < TCG_TB_SIZE_MIN_MIB) throw r.fail('tcg_tb_size', BigInt(v), `0 (QEMU's own size) or at least ${TCG_TB_SIZE_MIN_MIB} MiB`);
  return v;
}

export function readQemuSection(r: SectionReader, host: HostFacts): QemuConfig {
  const d = QEMU_DEFAULTS;
  const raw: QemuConfig = {
    type: 'qemu',
    // Kata substitutes its default for an empty path or kernel.
    path: r.path('path', d.path, true) || d.path,
    kernel: r.path('kernel', d.kernel, true) || d.kernel,
    initrd: r.path('initrd', d.initrd, true),
    image: r.path('image', d.image, true),
    rootfsType: r.oneOf('rootfs_type', d.rootfsType, ROOTFS_TYPES),
    machineType: r.string('machine_type', d.machineType) || d.machineType,
    kernelParams: r.string('kernel_params', d.kernelParams).trim(),
    firmware: r.path('firmware', d.firmware, true),
    machineAccelerators: commaList(r.string('machine_accelerators', d.machineAccelerators)),
    cpuFeatures: commaList(r.string('cpu_features', d.cpuFeatures)),
    accel: r.oneOf('accel', d.accel, ACCELS),
    tcgTbSizeMiB: tcgTbSize(r, d.tcgTbSizeMiB),
    defaultVcpus: r.number('default_vcpus', d.defaultVcpus, 'a number of vCPUs (integer or float)'),
    defaultMaxVcpus: r.uint('default_maxvcpus', d.defaultMaxVcpus, { unit: 'vCPUs' }),
    defaultMemoryMiB: r.uint('default_memory', d.defaultMemoryMiB, { unit: 'MiB' }),
    memorySlots: r.uint('memory_slots', d.memorySlots, { unit: 'slots' }),
    defaultMaxMemoryMiB: r.uint('default_maxmemory', d.defaultMaxMemoryMiB, { unit: 'MiB', max: UINT64_SAFE }),
    memoryOffsetMiB: r.uint('memory_offset', d.memoryOffsetMiB, { unit: 'MiB', max: UINT64_SAFE }),
    defaultBridges: r.uint('default_bridges', d.defaultBridges, { unit: 'bridges' }),
    defaultRootPorts: r.uint('default_root_ports', d.defaultRootPorts, { unit: 'root ports' }),
    sharedFs: r.oneOf('shared_fs', d.sharedFs, SHARED_FS_KINDS),
    virtioFsDaemon: r.path('virtio_fs_daemon', d.virtioFsDaemon, true),
    validVirtioFsDaemonPaths: r.stringArray('valid_virtio_fs_daemon_paths', d.validVirtioFsDaemonPaths),
    virtioFsCache: r.oneOf('virtio_fs_cache', d.virtioFsCache, VIRTIO_FS_CACHE_MODES),
    virtioFsCacheSizeMiB: r.uint('virtio_fs_cache_size', d.virtioFsCacheSizeMiB, { unit: 'MiB' }),
    virtioFsExtraArgs: r.stringArray('virtio_fs_extra_args', d.virtioFsExtraArgs),
    enableAnnotations: regexpList(r, 'enable_annotations', d.enableAnnotations),
    validHypervisorPaths: r.stringArray('valid_hypervisor_paths', d.validHypervisorPaths),
    blockDeviceDriver: r.oneOf('block_device_driver', d.blockDeviceDriver, BLOCK_DEVICE_DRIVERS),
    disableBlockDeviceUse: r.bool('disable_block_device_use', d.disableBlockDeviceUse),
    enableVirtioMem: r.bool('enable_virtio_mem', d.enableVirtioMem),
    enableDebug: r.bool('enable_debug', d.enableDebug),
    useLegacySerial: r.bool('use_legacy_serial', d.useLegacySerial),
    entropySource: r.path('entropy_source', d.entropySource, false),
    disableImageNvdimm: r.bool('disable_image_nvdimm', d.disableImageNvdimm),
    reclaimGuestFreedMemory: r.bool('reclaim_guest_freed_memory', d.reclaimGuestFreedMemory),
    enableIothreads: r.bool('enable_iothreads', d.enableIothreads),
    enableHugepages: r.bool('enable_hugepages', d.enableHugepages),
    enableMemPrealloc: r.bool('enable_mem_prealloc', d.enableMemPrealloc),
    enableIommu: r.bool('enable_iommu', d.enableIommu),
    disableVhostNet: r.bool('disable_vhost_net', d.disableVhostNet),
    extraMonitorSocket: r.oneOf('extra_monitor_socket', d.extraMonitorSocket, EXTRA_MONITOR_SOCKETS),
  };
  checkCombinations(r, raw);
  r.warnUnread(KATA_ONLY_KEYS);
  return normaliseQemu(r, raw, host);
}

/** Kata trims the entries of comma-separated option strings and drops empty ones. */
function commaList(s: string): string {
  return s
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .join(',');
}

/** Compiled once here so a broken pattern is reported at load, not at the first pod. */
function regexpList(r: SectionReader, key: string, fallback: readonly string[]): readonly string[] {
  const list = r.stringArray(key, fallback);
  const broken = list.find((p) => compileRegexp(p) === undefined);
  if (broken !== undefined) {
    throw r.fail(key, list, `an array of regular expressions (${JSON.stringify(broken)} does not compile)`);
  }
  return list;
}

function checkCombinations(r: SectionReader, c: QemuConfig): void {
  if ((c.sharedFs === 'virtio-fs' || c.sharedFs === 'virtio-fs-nydus') && c.virtioFsDaemon === '') {
    throw new ConfigError(
      `${r.file}: [${r.section}] virtio_fs_daemon = "": expected the virtiofsd path, since shared_fs = "${c.sharedFs}"`,
      { file: r.file, section: r.section, key: 'virtio_fs_daemon' },
    );
  }
  if (c.initrd === '' && c.image === '') {
    throw new ConfigError(
      `${r.file}: [${r.section}] initrd = "" and image = "": expected at least one guest root (initrd or image)`,
      { file: r.file, section: r.section, key: 'initrd' },
    );
  }
}
