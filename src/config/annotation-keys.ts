// Kata's pod annotation names (virtcontainers/pkg/annotations/annotations.go).

/** Names the configuration file a sandbox should use; read before the config is loaded. */
export const CONFIG_PATH_ANNOTATION = 'io.katacontainers.config_path';

export const HYPERVISOR_ANNOTATION_PREFIX = 'io.katacontainers.config.hypervisor.';
export const RUNTIME_ANNOTATION_PREFIX = 'io.katacontainers.config.runtime.';
export const AGENT_ANNOTATION_PREFIX = 'io.katacontainers.config.agent.';

/** Kata puts this runtime setting outside the runtime prefix. */
export const VCPUS_PINNING_ANNOTATION = 'io.katacontainers.enable_vcpus_pinning';
