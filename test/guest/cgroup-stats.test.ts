import { describe, expect, it } from 'vitest';
import { cgroupStatsFromRunc } from '../../src/guest/cgroup-stats.js';
import type { RuncStats } from '../../src/guest/runc.js';

// Trimmed from `runc events --stats` on this host (cgroup v1).
const v1: RuncStats = JSON.parse(`{
  "cpu":{"usage":{"total":11821586,"percpu":[3927995,7893591],"kernel":10000000,"user":0},"throttling":{}},
  "memory":{"cache":90112,"usage":{"limit":67108864,"usage":577536,"max":2519040,"failcnt":0},
    "swap":{"limit":67108864,"usage":577536,"max":2519040,"failcnt":0},
    "kernel":{"limit":9223372036854771712,"usage":249856,"max":520192,"failcnt":0},
    "raw":{"cache":90112,"rss":53248,"hierarchical_memory_limit":67108864}},
  "pids":{"current":1,"limit":77},
  "blkio":{"ioServiceBytesRecursive":[{"major":8,"minor":0,"op":"Read","value":4096}]},
  "hugetlb":{"2MB":{"failcnt":0,"max":4,"usage":2}}
}`) as RuncStats;

// Shaped like runc 1.1 on cgroup v2 (the guest): page cache is "file", no kernel accounting.
const v2: RuncStats = {
  cpu: { usage: { total: 5000, kernel: 2000, user: 3000 }, throttling: { periods: 10, throttledPeriods: 2, throttledTime: 900 } },
  memory: { usage: { limit: 134217728, usage: 4096 }, swap: { limit: 0, usage: 0 }, raw: { file: 8192, anon: 4096 } },
  pids: { current: 3 },
};

describe('CgroupStats from runc stats', () => {
  it('maps cgroup v1 stats field by field', () => {
    const s = cgroupStatsFromRunc(v1);
    expect(s.cpuStats?.cpuUsage).toEqual({ totalUsage: 11821586, percpuUsage: [3927995, 7893591], usageInKernelmode: 10000000, usageInUsermode: 0 });
    expect(s.cpuStats?.throttlingData).toEqual({ periods: 0, throttledPeriods: 0, throttledTime: 0 });
    expect(s.memoryStats?.cache).toBe(90112);
    expect(s.memoryStats?.usage).toEqual({ usage: 577536, maxUsage: 2519040, failcnt: 0, limit: 67108864 });
    expect(s.memoryStats?.kernelUsage?.usage).toBe(249856);
    expect(s.memoryStats?.useHierarchy).toBe(true);
    expect(s.memoryStats?.stats).toMatchObject({ rss: 53248 });
    expect(s.pidsStats).toEqual({ current: 1, limit: 77 });
    expect(s.blkioStats?.ioServiceBytesRecursive).toEqual([{ major: 8, minor: 0, op: 'Read', value: 4096 }]);
    expect(s.blkioStats?.sectorsRecursive).toEqual([]);
    expect(s.hugetlbStats).toEqual({ '2MB': { usage: 2, maxUsage: 4, failcnt: 0 } });
  });

  it('maps cgroup v2 stats, taking page cache from "file"', () => {
    const s = cgroupStatsFromRunc(v2);
    expect(s.memoryStats?.cache).toBe(8192);
    expect(s.memoryStats?.usage?.limit).toBe(134217728);
    expect(s.cpuStats?.throttlingData).toEqual({ periods: 10, throttledPeriods: 2, throttledTime: 900 });
    expect(s.pidsStats).toEqual({ current: 3, limit: 0 });
    expect(s.hugetlbStats).toEqual({});
  });

  it('survives empty stats', () => {
    expect(cgroupStatsFromRunc({}).memoryStats?.usage).toEqual({ usage: 0, maxUsage: 0, failcnt: 0, limit: 0 });
  });
});
