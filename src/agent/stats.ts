// A container's cgroup and network statistics as the agent reports them (Kata's
// StatsContainerResponse), as plain values: the agent client converts the message once,
// the shim turns these into containerd's metrics. Every number is present (0 when unset).
import type { grpc } from '../gen/proto.js';

export interface CpuUsage {
  readonly totalUsage: number;
  readonly percpuUsage: readonly number[];
  readonly usageInKernelmode: number;
  readonly usageInUsermode: number;
}

export interface ThrottlingData {
  readonly periods: number;
  readonly throttledPeriods: number;
  readonly throttledTime: number;
}

export interface MemoryData {
  readonly usage: number;
  readonly maxUsage: number;
  readonly failcnt: number;
  readonly limit: number;
}

export interface MemoryStats {
  readonly cache: number;
  readonly usage: MemoryData;
  readonly swapUsage: MemoryData;
  readonly kernelUsage: MemoryData;
  readonly useHierarchy: boolean;
  /** memory.stat, by key. */
  readonly stats: Readonly<Record<string, number>>;
}

export interface BlkioEntry {
  readonly major: number;
  readonly minor: number;
  readonly op: string;
  readonly value: number;
}

export interface BlkioStats {
  readonly ioServiceBytesRecursive: readonly BlkioEntry[];
  readonly ioServicedRecursive: readonly BlkioEntry[];
  readonly ioQueuedRecursive: readonly BlkioEntry[];
  readonly ioServiceTimeRecursive: readonly BlkioEntry[];
  readonly ioWaitTimeRecursive: readonly BlkioEntry[];
  readonly ioMergedRecursive: readonly BlkioEntry[];
  readonly ioTimeRecursive: readonly BlkioEntry[];
  readonly sectorsRecursive: readonly BlkioEntry[];
}

export interface HugetlbStats {
  readonly usage: number;
  readonly maxUsage: number;
  readonly failcnt: number;
}

export interface CgroupStats {
  readonly cpuStats: { readonly cpuUsage: CpuUsage; readonly throttlingData: ThrottlingData };
  readonly memoryStats: MemoryStats;
  readonly pidsStats: { readonly current: number; readonly limit: number };
  readonly blkioStats: BlkioStats;
  /** Keyed by page size. */
  readonly hugetlbStats: Readonly<Record<string, HugetlbStats>>;
}

export interface NetworkStats {
  readonly name: string;
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly rxErrors: number;
  readonly rxDropped: number;
  readonly txBytes: number;
  readonly txPackets: number;
  readonly txErrors: number;
  readonly txDropped: number;
}

export interface ContainerStats {
  /** Absent when the agent sent none. */
  readonly cgroupStats?: CgroupStats;
  readonly networkStats: readonly NetworkStats[];
}

const n = (v: number | null | undefined): number => v ?? 0;

const memoryData = (m: grpc.MemoryData.$Properties | null | undefined): MemoryData => ({
  usage: n(m?.usage),
  maxUsage: n(m?.maxUsage),
  failcnt: n(m?.failcnt),
  limit: n(m?.limit),
});

const entries = (list: grpc.BlkioStatsEntry.$Properties[] | null | undefined): BlkioEntry[] =>
  (list ?? []).map((e) => ({ major: n(e.major), minor: n(e.minor), op: e.op ?? '', value: n(e.value) }));

/** Kata's StatsContainerResponse → plain values, defaults filled in. */
export function statsFromGrpc(r: grpc.StatsContainerResponse.$Properties): ContainerStats {
  const cg = r.cgroupStats;
  const cpu = cg?.cpuStats;
  const mem = cg?.memoryStats;
  const blk = cg?.blkioStats;
  return {
    cgroupStats: cg ? {
      cpuStats: {
        cpuUsage: {
          totalUsage: n(cpu?.cpuUsage?.totalUsage),
          percpuUsage: (cpu?.cpuUsage?.percpuUsage ?? []).map(n),
          usageInKernelmode: n(cpu?.cpuUsage?.usageInKernelmode),
          usageInUsermode: n(cpu?.cpuUsage?.usageInUsermode),
        },
        throttlingData: {
          periods: n(cpu?.throttlingData?.periods),
          throttledPeriods: n(cpu?.throttlingData?.throttledPeriods),
          throttledTime: n(cpu?.throttlingData?.throttledTime),
        },
      },
      memoryStats: {
        cache: n(mem?.cache),
        usage: memoryData(mem?.usage),
        swapUsage: memoryData(mem?.swapUsage),
        kernelUsage: memoryData(mem?.kernelUsage),
        useHierarchy: !!mem?.useHierarchy,
        stats: Object.fromEntries(Object.entries(mem?.stats ?? {}).map(([k, v]) => [k, n(v)])),
      },
      pidsStats: { current: n(cg?.pidsStats?.current), limit: n(cg?.pidsStats?.limit) },
      blkioStats: {
        ioServiceBytesRecursive: entries(blk?.ioServiceBytesRecursive),
        ioServicedRecursive: entries(blk?.ioServicedRecursive),
        ioQueuedRecursive: entries(blk?.ioQueuedRecursive),
        ioServiceTimeRecursive: entries(blk?.ioServiceTimeRecursive),
        ioWaitTimeRecursive: entries(blk?.ioWaitTimeRecursive),
        ioMergedRecursive: entries(blk?.ioMergedRecursive),
        ioTimeRecursive: entries(blk?.ioTimeRecursive),
        sectorsRecursive: entries(blk?.sectorsRecursive),
      },
      hugetlbStats: Object.fromEntries(
        Object.entries(cg?.hugetlbStats ?? {}).map(([k, h]) => [k, { usage: n(h.usage), maxUsage: n(h.maxUsage), failcnt: n(h.failcnt) }]),
      ),
    } : undefined,
    networkStats: (r.networkStats ?? []).map((s) => ({
      name: s.name ?? '',
      rxBytes: n(s.rxBytes),
      rxPackets: n(s.rxPackets),
      rxErrors: n(s.rxErrors),
      rxDropped: n(s.rxDropped),
      txBytes: n(s.txBytes),
      txPackets: n(s.txPackets),
      txErrors: n(s.txErrors),
      txDropped: n(s.txDropped),
    })),
  };
}
