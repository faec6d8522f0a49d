// Public API of the configuration layer.
export type {
  Accel,
  AgentConfig,
  BlockDeviceDriver,
  EmptydirMode,
  FactoryConfig,
  HostFacts,
  HypervisorConfig,
  InternetworkingModel,
  KataConfig,
  QemuConfig,
  RootfsType,
  RuntimeConfig,
  SharedFs,
  VfioMode,
  VirtioFsCache,
} from './types.js';
export { ConfigError, type ConfigErrorLocation } from './config-error.js';
export { CONFIG_ENV_VAR, DEFAULT_CONFIG_PATHS, MIN_HYPERVISOR_MEMORY_MIB, QEMU_MAX_VCPUS } from './defaults.js';
export { parseConfig } from './parse-config.js';
export { resolveConfigPath, type ConfigPathLookup } from './config-path.js';
export { loadConfig, type LoadConfigOptions } from './load-config.js';
export { readHostFacts, probeKvm } from './host-facts.js';
export { describeKvm, kvmUsable, resolveAccel, type KvmStatus, type ResolvedAccel } from './accel.js';
export { applyAnnotations } from './annotations.js';
export {
  AGENT_ANNOTATION_PREFIX,
  CONFIG_PATH_ANNOTATION,
  HYPERVISOR_ANNOTATION_PREFIX,
  RUNTIME_ANNOTATION_PREFIX,
  VCPUS_PINNING_ANNOTATION,
} from './annotation-keys.js';
