// StatsContainer: runc's stats (`runc events --stats`, the same on cgroup v1 and v2)
// → the agent's CgroupStats message. Pure.
import type { grpc } from '../gen/proto.js';
import type { RuncBlkioEntry, RuncMemoryEntry, RuncStats } from './runc.js';

const n = (v: number | undefined): number => v ?? 0;

function memoryData(e: RuncMemoryEntry | undefined): grpc.MemoryData.$Properties {
  return { usage: n(e?.usage), maxUsage: n(e?.max), failcnt: n(e?.failcnt), limit: n(e?.limit) };
}

function blkio(list: RuncBlkioEntry[] | undefined): grpc.BlkioStatsEntry.$Properties[] {
  return (list ?? []).map((e) => ({ major: n(e.major), minor: n(e.minor), op: e.op ?? '', value: n(e.value) }));
}

export function cgroupStatsFromRunc(s: RuncStats): grpc.CgroupStats.$Properties {
  const raw = s.memory?.raw ?? {};
  const b = s.blkio ?? {};
  return {
    cpuStats: {
      cpuUsage: {
        totalUsage: n(s.cpu?.usage?.total),
        percpuUsage: s.cpu?.usage?.percpu ?? [],
        usageInKernelmode: n(s.cpu?.usage?.kernel),
        usageInUsermode: n(s.cpu?.usage?.user),
      },
      throttlingData: {
        periods: n(s.cpu?.throttling?.periods),
        throttledPeriods: n(s.cpu?.throttling?.throttledPeriods),
        throttledTime: n(s.cpu?.throttling?.throttledTime),
      },
    },
    memoryStats: {
      // v1 reports page cache as "cache", v2 as "file".
      cache: n(s.memory?.cache ?? raw['file']),
      usage: memoryData(s.memory?.usage),
      swapUsage: memoryData(s.memory?.swap),
      kernelUsage: memoryData(s.memory?.kernel),
      // v2 is always hierarchical; v1 says so in memory.use_hierarchy (raw has hierarchical_* then).
      useHierarchy: raw['hierarchical_memory_limit'] !== undefined || raw['file'] !== undefined,
      stats: { ...raw },
    },
    pidsStats: { current: n(s.pids?.current), limit: n(s.pids?.limit) },
    blkioStats: {
      ioServiceBytesRecursive: blkio(b['ioServiceBytesRecursive']),
      ioServicedRecursive: blkio(b['ioServicedRecursive']),
      ioQueuedRecursive: blkio(b['ioQueueRecursive']),
      ioServiceTimeRecursive: blkio(b['ioServiceTimeRecursive']),
      ioWaitTimeRecursive: blkio(b['ioWaitTimeRecursive']),
      ioMergedRecursive: blkio(b['ioMergedRecursive']),
      ioTimeRecursive: blkio(b['ioTimeRecursive']),
      sectorsRecursive: blkio(b['sectorsRecursive']),
    },
    hugetlbStats: Object.fromEntries(
      Object.entries(s.hugetlb ?? {}).map(([size, h]) => [size, { usage: n(h.usage), maxUsage: n(h.max), failcnt: n(h.failcnt) }]),
    ),
  };
}
