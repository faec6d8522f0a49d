// Static sizing: the VM is sized once at boot and never hotplugged, either because
// `static_sandbox_resource_mgmt` is set or because CRI told us the pod's total.
import type { LinuxResources } from '../oci/runtime-spec.js';
import { containerCpus, type SizingConfig } from './sizing.js';

export const CRI_SANDBOX_CPU_QUOTA = 'io.kubernetes.cri.sandbox-cpu-quota';
export const CRI_SANDBOX_CPU_PERIOD = 'io.kubernetes.cri.sandbox-cpu-period';
export const CRI_SANDBOX_MEMORY = 'io.kubernetes.cri.sandbox-memory';

const MiB = 1024 * 1024;

export interface StaticSizing {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly source: 'cri-annotations' | 'static_sandbox_resource_mgmt';
  readonly inputs: { readonly quota?: number; readonly period?: number; readonly memoryBytes?: number };
}

/** A value that does not parse counts as 0, as in Kata. */
function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/**
 * The boot size when sizing is static, or undefined when the sandbox follows its
 * containers dynamically. CRI's annotations win over the container's own limits.
 */
export function staticSizing(
  cfg: SizingConfig,
  staticMode: boolean,
  annotations: Readonly<Record<string, string>>,
  resources: LinuxResources | undefined,
): StaticSizing | undefined {
  const fromCri = [CRI_SANDBOX_CPU_QUOTA, CRI_SANDBOX_CPU_PERIOD, CRI_SANDBOX_MEMORY].some((k) => k in annotations);
  if (!fromCri && !staticMode) return undefined;
  const inputs = fromCri
    ? { quota: num(annotations[CRI_SANDBOX_CPU_QUOTA]), period: num(annotations[CRI_SANDBOX_CPU_PERIOD]), memoryBytes: num(annotations[CRI_SANDBOX_MEMORY]) }
    : { quota: resources?.cpu?.quota, period: resources?.cpu?.period, memoryBytes: resources?.memory?.limit };
  const cpus = containerCpus({ quota: inputs.quota, period: inputs.period });
  const memMiB = Math.max(0, Math.floor((inputs.memoryBytes ?? 0) / MiB));
  return {
    vcpus: Math.max(1, Math.ceil(cfg.defaultVcpus + cpus - 1e-9)),
    memoryMiB: Math.min(cfg.defaultMemoryMiB + memMiB, cfg.maxMemoryMiB),
    source: fromCri ? 'cri-annotations' : 'static_sandbox_resource_mgmt',
    inputs: Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined)),
  };
}
