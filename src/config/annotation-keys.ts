// Kata's pod annotation names (virtcontainers/pkg/annotations/annotations.go).

/** Names the configuration file a sandbox should use; read before the config is loaded. */
export const CONFIG_PATH_ANNOTATION = 'io.katacontainers.config_path';

export const HYPERVISOR_ANNOTATION_PREFIX = 'io.katacontainers.config.hypervisor.';
export const RUNTIME_ANNOTATION_PREFIX = 'io.katacontainers.config.runtime.';
export const AGENT_ANNOTATION_PREFIX = 'io.katacontainers.config.agent.';

/** Kata puts this runtime setting outside the runtime prefix. */
export const VCPUS_PINNING_ANNOTATION = 'io.katacontainers.enable_vcpus_pinning';

/**
 * Every suffix Kata's Go runtime reads under each prefix (annotations.go), so an annotation
 * this runtime does not implement can be told apart from a name Kata does not know either
 * (a typo, most likely). Kata ignores unknown names without a word; we warn about both.
 */
export const KATA_ANNOTATION_SUFFIXES: Readonly<Record<string, ReadonlySet<string>>> = {
  [HYPERVISOR_ANNOTATION_PREFIX]: new Set([
    'kernel', 'image', 'initrd', 'path', 'jailer_path', 'firmware', 'firmware_volume',
    'kernel_hash', 'image_hash', 'initrd_hash', 'hypervisor_hash', 'jailer_hash', 'firmware_hash',
    'firmware_volume_hash', 'kernel_params', 'machine_type', 'machine_accelerators', 'cpu_features',
    'disable_vhost_net', 'enable_vhost_user_store', 'vhost_user_store_path',
    'vhost_user_reconnect_timeout_sec', 'guest_hook_path', 'disable_image_nvdimm', 'cold_plug_vfio',
    'hot_plug_vfio', 'pcie_root_port', 'pcie_switch_port', 'entropy_source', 'use_legacy_serial',
    'default_gpus', 'default_gpu_model', 'default_vcpus', 'default_max_vcpus', 'default_memory',
    'memory_slots', 'memory_offset', 'enable_virtio_mem', 'enable_mem_prealloc',
    'reclaim_guest_freed_memory', 'enable_hugepages', 'enable_iommu', 'enable_iommu_platform',
    'file_mem_backend', 'msize_9p', 'shared_fs', 'virtio_fs_daemon', 'virtio_fs_cache',
    'virtio_fs_cache_size', 'virtio_fs_extra_args', 'block_device_driver', 'block_device_aio',
    'disable_block_device_use', 'enable_iothreads', 'block_device_cache_set',
    'block_device_cache_direct', 'block_device_cache_noflush', 'rx_rate_limiter_max_rate',
    'tx_rate_limiter_max_rate', 'enable_guest_swap', 'rootless', 'cc_init_data',
  ]),
  [RUNTIME_ANNOTATION_PREFIX]: new Set([
    'disable_guest_seccomp', 'guest_selinux_label', 'sandbox_cgroup_only', 'enable_pprof', 'experimental',
    'internetworking_model', 'disable_new_netns', 'vfio_mode', 'create_container_timeout',
    'experimental_force_guest_pull',
  ]),
  [AGENT_ANNOTATION_PREFIX]: new Set(['kernel_modules', 'enable_tracing', 'container_pipe_size', 'policy']),
};
