// Pod annotations that override the configuration, with the rules of Kata's Go runtime
// (pkg/oci/utils.go addAnnotations): every io.katacontainers.config.hypervisor.* key,
// known or not, must be allowed by enable_annotations, all checked before any is applied,
// and refused with Kata's "annotation <key> is not enabled"; hypervisor and virtiofsd
// paths must match the valid_* globs; runtime and agent annotations have no gate. Names
// Kata does not read are ignored, as Kata does; we also leave a warning in the config.
import { invalidArgument } from '../errors/index.js';
import {
  AGENT_ANNOTATION_PREFIX,
  HYPERVISOR_ANNOTATION_PREFIX,
  KATA_ANNOTATION_SUFFIXES,
  RUNTIME_ANNOTATION_PREFIX,
  VCPUS_PINNING_ANNOTATION,
} from './annotation-keys.js';
import {
  AGENT_OVERRIDES,
  enableVcpusPinning,
  HYPERVISOR_OVERRIDES,
  RUNTIME_OVERRIDES,
  type ConfigDraft,
  type Override,
} from './annotation-overrides.js';
import { AnnotationValue } from './annotation-value.js';
import { deepFreeze } from './deep-freeze.js';
import { anyRegexpMatches } from './kata-match.js';
import type { KataConfig } from './types.js';

const FAMILIES: readonly (readonly [string, Readonly<Record<string, Override>>])[] = [
  [HYPERVISOR_ANNOTATION_PREFIX, HYPERVISOR_OVERRIDES],
  [RUNTIME_ANNOTATION_PREFIX, RUNTIME_OVERRIDES],
  [AGENT_ANNOTATION_PREFIX, AGENT_OVERRIDES],
];

/** Returns a new frozen config with the pod's annotations applied, or throws INVALID_ARGUMENT. */
export function applyAnnotations(config: KataConfig, annotations: Readonly<Record<string, string>>): KataConfig {
  const keys = Object.keys(annotations).sort();
  checkEnabled(config, keys);

  const draft: ConfigDraft = {
    source: config.source,
    host: config.host,
    hypervisor: { ...config.hypervisor },
    agent: { ...config.agent },
    runtime: { ...config.runtime },
  };
  const warnings: string[] = [];
  let touched = false;
  for (const key of keys) {
    const value = new AnnotationValue(key, annotations[key] ?? '');
    if (key === VCPUS_PINNING_ANNOTATION) {
      enableVcpusPinning(draft, value);
      touched = true;
      continue;
    }
    const family = FAMILIES.find(([prefix]) => key.startsWith(prefix));
    if (family === undefined) continue;
    const [prefix, overrides] = family;
    const suffix = key.slice(prefix.length);
    if (Object.hasOwn(overrides, suffix)) {
      (overrides[suffix] as Override)(draft, value);
      touched = true;
    } else {
      warnings.push(ignoredAnnotation(key, prefix, suffix));
    }
  }
  if (!touched && warnings.length === 0) return config;
  checkConsistent(draft);
  return deepFreeze({
    ...config,
    hypervisor: draft.hypervisor,
    agent: draft.agent,
    runtime: draft.runtime,
    warnings: [...config.warnings, ...warnings],
  }) as KataConfig;
}

function ignoredAnnotation(key: string, prefix: string, suffix: string): string {
  return KATA_ANNOTATION_SUFFIXES[prefix]?.has(suffix)
    ? `annotation ${key}: Kata applies it but this runtime does not implement it; ignored`
    : `annotation ${key}: not an annotation Kata knows; ignored, as Kata does`;
}

/** Kata's checkAnnotationNameIsValid; its message starts ours word for word, then says why. */
function checkEnabled(config: KataConfig, keys: readonly string[]): void {
  const allowed = config.hypervisor.enableAnnotations;
  for (const key of keys) {
    if (!key.startsWith(HYPERVISOR_ANNOTATION_PREFIX)) continue;
    const suffix = key.slice(HYPERVISOR_ANNOTATION_PREFIX.length);
    if (!anyRegexpMatches(allowed, suffix)) {
      throw invalidArgument(
        `annotation ${key} is not enabled: no entry of [hypervisor.qemu] enable_annotations = ` +
          `${JSON.stringify(allowed)} in ${config.source} matches "${suffix}"`,
      );
    }
  }
}

/** Cross-field rules the individual annotations cannot check alone. */
function checkConsistent(d: ConfigDraft): void {
  const h = d.hypervisor;
  if (Math.ceil(h.defaultVcpus) > h.defaultMaxVcpus) {
    throw invalidArgument(
      `annotations: default_vcpus ${h.defaultVcpus} exceeds default_maxvcpus ${h.defaultMaxVcpus}`,
    );
  }
  if (h.defaultMemoryMiB > h.defaultMaxMemoryMiB) {
    throw invalidArgument(
      `annotations: default_memory ${h.defaultMemoryMiB} MiB exceeds default_maxmemory ${h.defaultMaxMemoryMiB} MiB`,
    );
  }
  if (d.runtime.disableNewNetns && d.runtime.internetworkingModel !== 'none') {
    throw invalidArgument(
      `annotations: disable_new_netns requires internetworking_model "none" (it is "${d.runtime.internetworkingModel}")`,
    );
  }
}
