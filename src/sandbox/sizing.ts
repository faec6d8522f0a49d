// How big the sandbox VM should be, from the containers' cgroup limits. Pure: it
// returns the target and the reasons, so every resize can be logged and explained.
import type { LinuxResources } from '../oci/runtime-spec.js';

const MiB = 1024 * 1024;

export interface SizingConfig {
  /** `default_vcpus` (may be fractional, as in Kata 3.x). */
  readonly defaultVcpus: number;
  /** `default_maxvcpus`, already resolved (0 means host CPUs upstream of here). */
  readonly maxVcpus: number;
  readonly defaultMemoryMiB: number;
  readonly maxMemoryMiB: number;
  /** The guest's memory block size: hot-added memory is only usable in whole blocks. */
  readonly memoryBlockMiB: number;
}

/** What one container asks of the sandbox. */
export interface ContainerResources {
  readonly quota?: number;
  readonly period?: number;
  readonly memoryLimitBytes?: number;
  readonly hugepageLimitBytes?: number;
}

export interface ContainerShare {
  readonly id: string;
  readonly resources: ContainerResources;
}

export interface CpuExplanation {
  readonly defaultVcpus: number;
  readonly containers: readonly { readonly id: string; readonly cpus: number; readonly quota?: number; readonly period?: number }[];
  readonly containersTotal: number;
  /** ceil(default + total), before caps. */
  readonly requested: number;
  readonly cap?: string;
}

export interface MemoryExplanation {
  readonly defaultMiB: number;
  readonly containers: readonly { readonly id: string; readonly limitMiB: number }[];
  readonly containersTotalMiB: number;
  /** The containers' total rounded up to whole guest memory blocks. */
  readonly roundedMiB: number;
  readonly blockMiB: number;
  readonly requestedMiB: number;
  readonly cap?: string;
}

export interface Sizing {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly cpu: CpuExplanation;
  readonly memory: MemoryExplanation;
}

/** CPUs a container adds: quota/period when both are set and quota is not "unlimited". */
export function containerCpus(r: ContainerResources): number {
  return r.quota !== undefined && r.period !== undefined && r.quota > 0 && r.period > 0 ? r.quota / r.period : 0;
}

export function containerMemoryBytes(r: ContainerResources): number {
  return Math.max(0, r.memoryLimitBytes ?? 0) + Math.max(0, r.hugepageLimitBytes ?? 0);
}

export function computeSizing(cfg: SizingConfig, containers: readonly ContainerShare[]): Sizing {
  const cpuRows = containers.map((c) => ({ id: c.id, cpus: containerCpus(c.resources), quota: c.resources.quota, period: c.resources.period }));
  const cpuTotal = cpuRows.reduce((s, r) => s + r.cpus, 0);
  // Fractions are summed before rounding: two containers of 0.5 CPU need one vCPU, not two.
  // The epsilon keeps 0.1+0.2-style float noise from adding a whole vCPU.
  const requested = Math.max(1, Math.ceil(cfg.defaultVcpus + cpuTotal - 1e-9));
  const vcpus = Math.min(requested, cfg.maxVcpus);

  const memRows = containers.map((c) => ({ id: c.id, limitMiB: containerMemoryBytes(c.resources) / MiB }));
  const memTotalMiB = memRows.reduce((s, r) => s + r.limitMiB, 0);
  const roundedMiB = Math.ceil(Math.ceil(memTotalMiB) / cfg.memoryBlockMiB) * cfg.memoryBlockMiB;
  const requestedMiB = cfg.defaultMemoryMiB + roundedMiB;
  const memoryMiB = Math.min(requestedMiB, cfg.maxMemoryMiB);

  return {
    vcpus,
    memoryMiB,
    cpu: {
      defaultVcpus: cfg.defaultVcpus,
      containers: cpuRows.map((r) => stripUndefined(r)),
      containersTotal: cpuTotal,
      requested,
      ...(vcpus < requested ? { cap: `default_maxvcpus = ${cfg.maxVcpus}` } : {}),
    },
    memory: {
      defaultMiB: cfg.defaultMemoryMiB,
      containers: memRows,
      containersTotalMiB: memTotalMiB,
      roundedMiB,
      blockMiB: cfg.memoryBlockMiB,
      requestedMiB,
      ...(memoryMiB < requestedMiB ? { cap: `maximum memory ${cfg.maxMemoryMiB} MiB` } : {}),
    },
  };
}

const n = (x: number): string => String(Math.round(x * 1000) / 1000);

/** Why the VM wants this many vCPUs, in one phrase for the log. Pure. */
export function cpuReason(c: CpuExplanation): string {
  return `ceil(default_vcpus ${n(c.defaultVcpus)} + containers ${n(c.containersTotal)}) = ${c.requested}${c.cap ? `, capped by ${c.cap}` : ''}`;
}

/** Why the VM wants this much memory, in one phrase for the log. Pure. */
export function memoryReason(m: MemoryExplanation): string {
  return (
    `default_memory ${m.defaultMiB} MiB + containers ${n(m.containersTotalMiB)} MiB in ${m.blockMiB} MiB blocks = ${m.requestedMiB} MiB` +
    (m.cap ? `, capped by ${m.cap}` : '')
  );
}

export function resourcesFromSpec(r: LinuxResources | undefined): ContainerResources {
  const huge = (r?.hugepageLimits ?? []).reduce((s, h) => s + Math.max(0, h.limit), 0);
  return stripUndefined({
    quota: r?.cpu?.quota,
    period: r?.cpu?.period,
    memoryLimitBytes: r?.memory?.limit,
    hugepageLimitBytes: huge || undefined,
  });
}

/**
 * Kata's Update rules: a nil or zero quota/period keeps the old value; a memory limit
 * that is present replaces the old one (even 0 or -1, which then add nothing).
 */
export function applyResourceUpdate(old: ContainerResources, update: LinuxResources): ContainerResources {
  const next = resourcesFromSpec(update);
  return stripUndefined({
    quota: update.cpu?.quota ? next.quota : old.quota,
    period: update.cpu?.period ? next.period : old.period,
    memoryLimitBytes: update.memory?.limit !== undefined ? next.memoryLimitBytes : old.memoryLimitBytes,
    hugepageLimitBytes: update.hugepageLimits ? next.hugepageLimitBytes : old.hugepageLimitBytes,
  });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
