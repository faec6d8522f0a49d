// Task Stats: the agent's container statistics → containerd's cgroup metrics Any, as
// Kata's Go shim does it (containerd-shim-v2/metrics.go): io.containerd.cgroups.v1.Metrics
// on a cgroup v1 (or hybrid) host, io.containerd.cgroups.v2.Metrics on a unified one.
// The host's mode decides, not the guest's: containerd and the kubelet parse the
// metrics with the host's cgroup version. Pure, apart from hostCgroupMode().
// Deviations from Kata, on purpose:
// - v2 cpu: user_usec/system_usec come from user/kernel time (Kata swaps them).
// - v2 io: one entry per device, ops matched case-insensitively (runc says "Read"/"Write");
//   Kata folds every device into one entry and emits a zero entry when there is none.
// - memory: every memory.stat key with a matching field is copied, not just Kata's few,
//   with fallbacks between v1 and v2 key names for a guest on the other cgroup version.
// - hugetlb entries are sorted by page size (Go map order is random).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BlkioEntry, CgroupStats, ContainerStats as Stats, MemoryData, MemoryStats } from '../agent/stats.js';
import { io, type google } from '../gen/proto.js';
import { bareTypeUrl } from './type-url.js';

export type CgroupMode = 'v1' | 'v2';
type MetricsV1 = io.containerd.cgroups.v1.Metrics.$Properties;
type MetricsV2 = io.containerd.cgroups.v2.Metrics.$Properties;

const { v1, v2 } = io.containerd.cgroups;
export const METRICS_V1_TYPE_URL = bareTypeUrl(v1.Metrics);
export const METRICS_V2_TYPE_URL = bareTypeUrl(v2.Metrics);

/** cgroup v2 only when /sys/fs/cgroup is the unified hierarchy (hybrid hosts count as v1, as in Kata). */
export function hostCgroupMode(root = '/sys/fs/cgroup'): CgroupMode {
  return existsSync(join(root, 'cgroup.controllers')) ? 'v2' : 'v1';
}

/** The StatsResponse.stats Any for `mode`. */
export function metricsAny(stats: Stats, mode: CgroupMode): google.protobuf.Any.$Properties {
  return mode === 'v2'
    ? { type_url: METRICS_V2_TYPE_URL, value: v2.Metrics.encode(statsToMetricsV2(stats)).finish() }
    : { type_url: METRICS_V1_TYPE_URL, value: v1.Metrics.encode(statsToMetricsV1(stats)).finish() };
}

// The agent client filled in every figure (src/agent/stats.ts): only memory.stat keys can
// be missing here.

/** Go's integer division ns → µs. */
const usec = (ns: number): number => Math.floor(ns / 1000);

/** The first of `keys` present in memory.stat, else `otherwise`. */
function stat(m: MemoryStats, keys: readonly string[], otherwise = 0): number {
  for (const k of keys) {
    const v = m.stats[k];
    if (v !== undefined) return v;
  }
  return otherwise;
}

const bySize = (h: CgroupStats['hugetlbStats']) => Object.entries(h).sort(([a], [b]) => a.localeCompare(b));

// ---- cgroup v1 ---------------------------------------------------------------------

export function statsToMetricsV1(stats: Stats): MetricsV1 {
  // The agent's figures already have containerd's field names.
  const network = stats.networkStats.map((s) => ({ ...s }));
  const cg = stats.cgroupStats;
  if (!cg) return { network };
  const { cpuUsage, throttlingData } = cg.cpuStats;
  return {
    hugetlb: bySize(cg.hugetlbStats).map(([pagesize, h]) => ({ usage: h.usage, max: h.maxUsage, failcnt: h.failcnt, pagesize })),
    pids: { ...cg.pidsStats },
    cpu: {
      usage: { total: cpuUsage.totalUsage, kernel: cpuUsage.usageInKernelmode, user: cpuUsage.usageInUsermode, perCpu: [...cpuUsage.percpuUsage] },
      throttling: { ...throttlingData },
    },
    memory: memoryV1(cg.memoryStats),
    blkio: blkioV1(cg.blkioStats),
    network,
  };
}

const entryV1 = (d: MemoryData): io.containerd.cgroups.v1.MemoryEntry.$Properties => ({ limit: d.limit, usage: d.usage, max: d.maxUsage, failcnt: d.failcnt });

type MemoryV1 = io.containerd.cgroups.v1.MemoryStat.$Properties;
type NumericKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends number ? K : never }[keyof T];

/** v1 MemoryStat fields copied from the memory.stat key(s) of the same meaning. */
const MEMORY_V1_KEYS: ReadonlyArray<readonly [NumericKeys<MemoryV1>, ...string[]]> = [
  ['rssHuge', 'rss_huge'],
  ['dirty', 'dirty'],
  ['writeback', 'writeback'],
  ['pgPgIn', 'pgpgin'],
  ['pgPgOut', 'pgpgout'],
  ['pgFault', 'pgfault'],
  ['pgMajFault', 'pgmajfault'],
  ['inactiveAnon', 'inactive_anon'],
  ['activeAnon', 'active_anon'],
  ['inactiveFile', 'inactive_file'],
  ['activeFile', 'active_file'],
  ['unevictable', 'unevictable'],
  ['hierarchicalMemoryLimit', 'hierarchical_memory_limit'],
  ['hierarchicalSwapLimit', 'hierarchical_memsw_limit'],
  ['totalCache', 'total_cache'],
  ['totalRss', 'total_rss'],
  ['totalRssHuge', 'total_rss_huge'],
  ['totalMappedFile', 'total_mapped_file'],
  ['totalDirty', 'total_dirty'],
  ['totalWriteback', 'total_writeback'],
  ['totalPgPgIn', 'total_pgpgin'],
  ['totalPgPgOut', 'total_pgpgout'],
  ['totalPgFault', 'total_pgfault'],
  ['totalPgMajFault', 'total_pgmajfault'],
  ['totalInactiveAnon', 'total_inactive_anon'],
  ['totalActiveAnon', 'total_active_anon'],
  // The kubelet's working set is usage - total_inactive_file; a v2 guest only has inactive_file.
  ['totalInactiveFile', 'total_inactive_file', 'inactive_file'],
  ['totalActiveFile', 'total_active_file'],
  ['totalUnevictable', 'total_unevictable'],
];

function memoryV1(m: MemoryStats): MemoryV1 {
  const out: MemoryV1 = {
    usage: entryV1(m.usage),
    swap: entryV1(m.swapUsage),
    kernel: entryV1(m.kernelUsage),
    // The agent has no kernel TCP figure (Kata reads a field that is always zero).
    kernelTcp: { limit: 0, usage: 0, max: 0, failcnt: 0 },
  };
  for (const [field, ...keys] of MEMORY_V1_KEYS) out[field] = stat(m, keys);
  // Kata: hierarchical totals when use_hierarchy is set. A v2 guest has neither key, so
  // fall back to its names (the agent already puts the page cache, "file", in `cache`).
  const h = m.useHierarchy;
  out.cache = stat(m, [h ? 'total_cache' : 'cache'], m.cache);
  out.rss = stat(m, [h ? 'total_rss' : 'rss', 'anon']);
  out.mappedFile = stat(m, [h ? 'total_mapped_file' : 'mapped_file', 'file_mapped']);
  return out;
}

/** containerd's BlkIOStat has the agent's list names; its entries add an (unknown) device name. */
function blkioV1(b: CgroupStats['blkioStats']): io.containerd.cgroups.v1.BlkIOStat.$Properties {
  const v1 = (entries: readonly BlkioEntry[]) => entries.map((e) => ({ ...e, device: '' }));
  return {
    ioServiceBytesRecursive: v1(b.ioServiceBytesRecursive),
    ioServicedRecursive: v1(b.ioServicedRecursive),
    ioQueuedRecursive: v1(b.ioQueuedRecursive),
    ioServiceTimeRecursive: v1(b.ioServiceTimeRecursive),
    ioWaitTimeRecursive: v1(b.ioWaitTimeRecursive),
    ioMergedRecursive: v1(b.ioMergedRecursive),
    ioTimeRecursive: v1(b.ioTimeRecursive),
    sectorsRecursive: v1(b.sectorsRecursive),
  };
}

// ---- cgroup v2 ---------------------------------------------------------------------

export function statsToMetricsV2(stats: Stats): MetricsV2 {
  // v2 Metrics has no network field: Kata drops network stats on v2 hosts too.
  const cg = stats.cgroupStats;
  if (!cg) return {};
  const cpu = cg.cpuStats;
  return {
    pids: { ...cg.pidsStats },
    cpu: {
      usageUsec: usec(cpu.cpuUsage.totalUsage),
      userUsec: usec(cpu.cpuUsage.usageInUsermode),
      systemUsec: usec(cpu.cpuUsage.usageInKernelmode),
      nrPeriods: cpu.throttlingData.periods,
      nrThrottled: cpu.throttlingData.throttledPeriods,
      throttledUsec: usec(cpu.throttlingData.throttledTime),
    },
    memory: memoryV2(cg.memoryStats),
    io: { usage: ioV2(cg.blkioStats) },
    hugetlb: bySize(cg.hugetlbStats).map(([pagesize, h]) => ({ current: h.usage, max: h.maxUsage, pagesize })),
  };
}

type MemoryV2 = io.containerd.cgroups.v2.MemoryStat.$Properties;

/** v2 MemoryStat fields from memory.stat: the v2 key first, then a v1 guest's equivalent. */
const MEMORY_V2_KEYS: ReadonlyArray<readonly [NumericKeys<MemoryV2>, ...string[]]> = [
  ['anon', 'anon', 'total_rss', 'rss'],
  ['file', 'file', 'total_cache', 'cache'],
  ['kernelStack', 'kernel_stack'],
  ['slab', 'slab'],
  ['sock', 'sock'],
  ['shmem', 'shmem', 'total_shmem'],
  ['fileMapped', 'file_mapped', 'total_mapped_file', 'mapped_file'],
  ['fileDirty', 'file_dirty', 'total_dirty', 'dirty'],
  ['fileWriteback', 'file_writeback', 'total_writeback', 'writeback'],
  ['anonThp', 'anon_thp', 'total_rss_huge', 'rss_huge'],
  ['inactiveAnon', 'inactive_anon'],
  ['activeAnon', 'active_anon'],
  ['inactiveFile', 'inactive_file'],
  ['activeFile', 'active_file'],
  ['unevictable', 'unevictable'],
  ['slabReclaimable', 'slab_reclaimable'],
  ['slabUnreclaimable', 'slab_unreclaimable'],
  ['pgfault', 'pgfault'],
  ['pgmajfault', 'pgmajfault'],
  ['workingsetRefault', 'workingset_refault'],
  ['workingsetActivate', 'workingset_activate'],
  ['workingsetNodereclaim', 'workingset_nodereclaim'],
  ['pgrefill', 'pgrefill'],
  ['pgscan', 'pgscan'],
  ['pgsteal', 'pgsteal'],
  ['pgactivate', 'pgactivate'],
  ['pgdeactivate', 'pgdeactivate'],
  ['pglazyfree', 'pglazyfree'],
  ['pglazyfreed', 'pglazyfreed'],
  ['thpFaultAlloc', 'thp_fault_alloc'],
  ['thpCollapseAlloc', 'thp_collapse_alloc'],
];

function memoryV2(m: MemoryStats): MemoryV2 {
  const out: MemoryV2 = { usage: m.usage.usage, usageLimit: m.usage.limit, swapUsage: m.swapUsage.usage, swapLimit: m.swapUsage.limit };
  for (const [field, ...keys] of MEMORY_V2_KEYS) out[field] = stat(m, keys);
  return out;
}

/** io.stat per device: bytes from io_service_bytes, operation counts from io_serviced. */
function ioV2(b: CgroupStats['blkioStats']): io.containerd.cgroups.v2.IOEntry.$Properties[] {
  const devices = new Map<string, { major: number; minor: number; rbytes: number; wbytes: number; rios: number; wios: number }>();
  const device = (e: BlkioEntry) => {
    const key = `${e.major}:${e.minor}`;
    let d = devices.get(key);
    if (!d) devices.set(key, (d = { major: e.major, minor: e.minor, rbytes: 0, wbytes: 0, rios: 0, wios: 0 }));
    return d;
  };
  for (const e of b.ioServiceBytesRecursive) {
    const op = e.op.toLowerCase();
    // Kata's shim also takes rios/wios from this list, so accept them here too.
    if (op === 'read') device(e).rbytes = e.value;
    else if (op === 'write') device(e).wbytes = e.value;
    else if (op === 'rios') device(e).rios = e.value;
    else if (op === 'wios') device(e).wios = e.value;
  }
  for (const e of b.ioServicedRecursive) {
    const op = e.op.toLowerCase();
    if (op === 'read') device(e).rios = e.value;
    else if (op === 'write') device(e).wios = e.value;
  }
  return [...devices.values()];
}
