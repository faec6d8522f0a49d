// Task Stats payloads: the agent's cgroup stats → containerd's v1/v2 Metrics Any, decoded
// back with the generated classes and checked field by field.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grpc, io } from '../../src/gen/proto.js';
import { statsFromGrpc, type ContainerStats } from '../../src/agent/stats.js';
import { hostCgroupMode, metricsAny, statsToMetricsV1, statsToMetricsV2 } from '../../src/shim/metrics.js';

const { v1, v2 } = io.containerd.cgroups;
const entry = (major: number, minor: number, op: string, value: number) => ({ major, minor, op, value });

/** A v1 guest (runc on cgroup v1, use_hierarchy=1), every number distinct. */
const v1GuestMemoryStat: Record<string, number> = {
  cache: 1001,
  rss: 1002,
  rss_huge: 1003,
  mapped_file: 1004,
  dirty: 1005,
  writeback: 1006,
  pgpgin: 1007,
  pgpgout: 1008,
  pgfault: 1009,
  pgmajfault: 1010,
  inactive_anon: 1011,
  active_anon: 1012,
  inactive_file: 1013,
  active_file: 1014,
  unevictable: 1015,
  hierarchical_memory_limit: 1016,
  hierarchical_memsw_limit: 1017,
  total_cache: 1018,
  total_rss: 1019,
  total_rss_huge: 1020,
  total_mapped_file: 1021,
  total_dirty: 1022,
  total_writeback: 1023,
  total_pgpgin: 1024,
  total_pgpgout: 1025,
  total_pgfault: 1026,
  total_pgmajfault: 1027,
  total_inactive_anon: 1028,
  total_active_anon: 1029,
  total_inactive_file: 1030,
  total_active_file: 1031,
  total_unevictable: 1032,
};

function agentStats(stats: Record<string, number>, useHierarchy: boolean): ContainerStats {
  // Round-trip through the wire format, as the agent client hands it over.
  const props: grpc.StatsContainerResponse.$Properties = {
    cgroupStats: {
      cpuStats: {
        cpuUsage: { totalUsage: 9_876_543, percpuUsage: [5_000_000, 4_876_543], usageInKernelmode: 3_210_999, usageInUsermode: 6_543_001 },
        throttlingData: { periods: 11, throttledPeriods: 12, throttledTime: 13_999 },
      },
      memoryStats: {
        cache: 777,
        usage: { usage: 201, maxUsage: 202, failcnt: 203, limit: 204 },
        swapUsage: { usage: 211, maxUsage: 212, failcnt: 213, limit: 214 },
        kernelUsage: { usage: 221, maxUsage: 222, failcnt: 223, limit: 224 },
        useHierarchy,
        stats,
      },
      pidsStats: { current: 5, limit: 50 },
      blkioStats: {
        ioServiceBytesRecursive: [entry(8, 0, 'Read', 4096), entry(8, 0, 'Write', 8192), entry(8, 16, 'Read', 1), entry(8, 0, 'Total', 12288)],
        ioServicedRecursive: [entry(8, 0, 'Read', 3), entry(8, 0, 'Write', 4), entry(8, 16, 'Write', 2)],
        ioQueuedRecursive: [entry(1, 1, 'Sync', 31)],
        ioServiceTimeRecursive: [entry(1, 2, 'Async', 32)],
        ioWaitTimeRecursive: [entry(1, 3, 'Read', 33)],
        ioMergedRecursive: [entry(1, 4, 'Write', 34)],
        ioTimeRecursive: [entry(1, 5, '', 35)],
        sectorsRecursive: [entry(1, 6, '', 36)],
      },
      hugetlbStats: { '2MB': { usage: 41, maxUsage: 42, failcnt: 43 }, '1GB': { usage: 44, maxUsage: 45, failcnt: 46 } },
    },
    networkStats: [
      { name: 'eth0', rxBytes: 51, rxPackets: 52, rxErrors: 53, rxDropped: 54, txBytes: 55, txPackets: 56, txErrors: 57, txDropped: 58 },
    ],
  };
  return statsFromGrpc(grpc.StatsContainerResponse.decode(grpc.StatsContainerResponse.encode(props).finish()));
}

describe('cgroup v1 Metrics', () => {
  const any = metricsAny(agentStats(v1GuestMemoryStat, true), 'v1');
  const m = v1.Metrics.decode(any.value ?? new Uint8Array());

  it('is typed io.containerd.cgroups.v1.Metrics (bare name)', () => {
    expect(any.type_url).toBe('io.containerd.cgroups.v1.Metrics');
  });

  it('maps cpu, pids and hugetlb', () => {
    expect(m.cpu?.usage).toMatchObject({ total: 9_876_543, kernel: 3_210_999, user: 6_543_001, perCpu: [5_000_000, 4_876_543] });
    expect(m.cpu?.throttling).toMatchObject({ periods: 11, throttledPeriods: 12, throttledTime: 13_999 });
    expect(m.pids).toMatchObject({ current: 5, limit: 50 });
    expect(m.hugetlb).toMatchObject([
      { usage: 44, max: 45, failcnt: 46, pagesize: '1GB' },
      { usage: 41, max: 42, failcnt: 43, pagesize: '2MB' },
    ]);
  });

  it('maps memory entries and every memory.stat key, hierarchical totals for cache/rss/mapped_file', () => {
    const mem = m.memory!;
    expect(mem.usage).toMatchObject({ usage: 201, max: 202, failcnt: 203, limit: 204 });
    expect(mem.swap).toMatchObject({ usage: 211, max: 212, failcnt: 213, limit: 214 });
    expect(mem.kernel).toMatchObject({ usage: 221, max: 222, failcnt: 223, limit: 224 });
    expect(mem.kernelTcp).toMatchObject({ usage: 0, max: 0, failcnt: 0, limit: 0 });
    expect(mem).toMatchObject({
      cache: 1018, // total_cache (use_hierarchy), as Kata
      rss: 1019,
      mappedFile: 1021,
      rssHuge: 1003,
      dirty: 1005,
      writeback: 1006,
      pgPgIn: 1007,
      pgPgOut: 1008,
      pgFault: 1009,
      pgMajFault: 1010,
      inactiveAnon: 1011,
      activeAnon: 1012,
      inactiveFile: 1013,
      activeFile: 1014,
      unevictable: 1015,
      hierarchicalMemoryLimit: 1016,
      hierarchicalSwapLimit: 1017,
      totalCache: 1018,
      totalRss: 1019,
      totalRssHuge: 1020,
      totalMappedFile: 1021,
      totalDirty: 1022,
      totalWriteback: 1023,
      totalPgPgIn: 1024,
      totalPgPgOut: 1025,
      totalPgFault: 1026,
      totalPgMajFault: 1027,
      totalInactiveAnon: 1028,
      totalActiveAnon: 1029,
      totalInactiveFile: 1030,
      totalActiveFile: 1031,
      totalUnevictable: 1032,
    });
  });

  it('takes cache/rss/mapped_file from the cgroup itself without use_hierarchy', () => {
    const flat = statsToMetricsV1(agentStats(v1GuestMemoryStat, false));
    expect(flat.memory).toMatchObject({ cache: 1001, rss: 1002, mappedFile: 1004 });
  });

  it('falls back to a v2 guest’s key names', () => {
    const v2Guest = { anon: 301, file: 302, file_mapped: 303, inactive_file: 304, pgfault: 305 };
    const mem = statsToMetricsV1(agentStats(v2Guest, true)).memory;
    expect(mem).toMatchObject({ cache: 777, rss: 301, mappedFile: 303, totalInactiveFile: 304, pgFault: 305, totalCache: 0 });
  });

  it('copies all eight blkio lists entry by entry', () => {
    const b = m.blkio!;
    expect(b.ioServiceBytesRecursive).toMatchObject([
      { op: 'Read', device: '', major: 8, minor: 0, value: 4096 },
      { op: 'Write', device: '', major: 8, minor: 0, value: 8192 },
      { op: 'Read', device: '', major: 8, minor: 16, value: 1 },
      { op: 'Total', device: '', major: 8, minor: 0, value: 12288 },
    ]);
    expect(b.ioServicedRecursive).toHaveLength(3);
    expect(b.ioQueuedRecursive?.[0]).toMatchObject({ op: 'Sync', major: 1, minor: 1, value: 31 });
    expect(b.ioServiceTimeRecursive?.[0]).toMatchObject({ op: 'Async', minor: 2, value: 32 });
    expect(b.ioWaitTimeRecursive?.[0]).toMatchObject({ minor: 3, value: 33 });
    expect(b.ioMergedRecursive?.[0]).toMatchObject({ minor: 4, value: 34 });
    expect(b.ioTimeRecursive?.[0]).toMatchObject({ minor: 5, value: 35 });
    expect(b.sectorsRecursive?.[0]).toMatchObject({ minor: 6, value: 36 });
  });

  it('carries network stats', () => {
    expect(m.network).toMatchObject([
      { name: 'eth0', rxBytes: 51, rxPackets: 52, rxErrors: 53, rxDropped: 54, txBytes: 55, txPackets: 56, txErrors: 57, txDropped: 58 },
    ]);
  });

  it('without cgroup stats has only the network part', () => {
    const only = v1.Metrics.decode(metricsAny(statsFromGrpc({ networkStats: [{ name: 'lo' }] }), 'v1').value ?? new Uint8Array());
    expect(only.cpu).toBeNull();
    expect(only.memory).toBeNull();
    expect(only.network.map((n) => n.name)).toEqual(['lo']);
  });
});

describe('cgroup v2 Metrics', () => {
  const v2GuestMemoryStat: Record<string, number> = {
    anon: 401, file: 402, kernel_stack: 403, slab: 404, sock: 405, shmem: 406, file_mapped: 407, file_dirty: 408,
    file_writeback: 409, anon_thp: 410, inactive_anon: 411, active_anon: 412, inactive_file: 413, active_file: 414,
    unevictable: 415, slab_reclaimable: 416, slab_unreclaimable: 417, pgfault: 418, pgmajfault: 419,
    workingset_refault: 420, workingset_activate: 421, workingset_nodereclaim: 422, pgrefill: 423, pgscan: 424,
    pgsteal: 425, pgactivate: 426, pgdeactivate: 427, pglazyfree: 428, pglazyfreed: 429, thp_fault_alloc: 430,
    thp_collapse_alloc: 431,
  };
  const any = metricsAny(agentStats(v2GuestMemoryStat, true), 'v2');
  const m = v2.Metrics.decode(any.value ?? new Uint8Array());

  it('is typed io.containerd.cgroups.v2.Metrics (bare name)', () => {
    expect(any.type_url).toBe('io.containerd.cgroups.v2.Metrics');
  });

  it('maps cpu in microseconds (user from user time, system from kernel time)', () => {
    expect({ ...m.cpu }).toEqual({
      usageUsec: 9_876,
      userUsec: 6_543,
      systemUsec: 3_210,
      nrPeriods: 11,
      nrThrottled: 12,
      throttledUsec: 13,
    });
  });

  it('maps pids and hugetlb', () => {
    expect(m.pids).toMatchObject({ current: 5, limit: 50 });
    expect(m.hugetlb).toMatchObject([
      { current: 44, max: 45, pagesize: '1GB' },
      { current: 41, max: 42, pagesize: '2MB' },
    ]);
  });

  it('maps memory usage/limits and every memory.stat key', () => {
    expect({ ...m.memory }).toEqual({
      usage: 201, usageLimit: 204, swapUsage: 211, swapLimit: 214,
      anon: 401, file: 402, kernelStack: 403, slab: 404, sock: 405, shmem: 406, fileMapped: 407, fileDirty: 408,
      fileWriteback: 409, anonThp: 410, inactiveAnon: 411, activeAnon: 412, inactiveFile: 413, activeFile: 414,
      unevictable: 415, slabReclaimable: 416, slabUnreclaimable: 417, pgfault: 418, pgmajfault: 419,
      workingsetRefault: 420, workingsetActivate: 421, workingsetNodereclaim: 422, pgrefill: 423, pgscan: 424,
      pgsteal: 425, pgactivate: 426, pgdeactivate: 427, pglazyfree: 428, pglazyfreed: 429, thpFaultAlloc: 430,
      thpCollapseAlloc: 431,
    });
  });

  it('falls back to a v1 guest’s key names', () => {
    const mem = statsToMetricsV2(agentStats(v1GuestMemoryStat, true)).memory;
    expect(mem).toMatchObject({ anon: 1019, file: 1018, fileMapped: 1021, fileDirty: 1022, anonThp: 1020, inactiveFile: 1013 });
  });

  it('sums blkio into one io entry per device: bytes and operation counts', () => {
    expect(m.io?.usage).toMatchObject([
      { major: 8, minor: 0, rbytes: 4096, wbytes: 8192, rios: 3, wios: 4 },
      { major: 8, minor: 16, rbytes: 1, wbytes: 0, rios: 0, wios: 2 },
    ]);
    // Kata's spelling of the counts, inside the bytes list.
    const kataOps = statsToMetricsV2(
      statsFromGrpc({ cgroupStats: { blkioStats: { ioServiceBytesRecursive: [entry(253, 1, 'read', 7), entry(253, 1, 'rios', 8), entry(253, 1, 'wios', 9)] } } }),
    );
    expect(kataOps.io?.usage).toEqual([{ major: 253, minor: 1, rbytes: 7, wbytes: 0, rios: 8, wios: 9 }]);
  });

  it('has no network field, and nothing at all without cgroup stats', () => {
    const lo = statsFromGrpc({ networkStats: [{ name: 'lo' }] });
    expect(statsToMetricsV2(lo)).toEqual({});
    expect(metricsAny(lo, 'v2').value).toHaveLength(0);
  });
});

describe('hostCgroupMode', () => {
  it('is v2 only on the unified hierarchy', () => {
    const root = mkdtempSync(join(tmpdir(), 'cgroup-probe-'));
    try {
      mkdirSync(join(root, 'memory'));
      expect(hostCgroupMode(root)).toBe('v1'); // v1 or hybrid: no cgroup.controllers at the root
      writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
      expect(hostCgroupMode(root)).toBe('v2');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reports this host (cgroup v1 hybrid)', () => {
    expect(hostCgroupMode()).toBe('v1');
  });
});
