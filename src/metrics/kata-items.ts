// Kata's `item` label values for /proc data, carried over from its Go shim (prometheus/procfs,
// src/runtime/pkg/utils/metrics.go) and its Rust agent (procfs crate, src/agent/src/metrics.rs)
// so dashboards written for Kata work unchanged. The two differ, and each side keeps its own:
// the Go side reports /proc/<pid>/status sizes in bytes and names io items `readbytes`; the
// Rust agent reports them in kB (as the file does) and says `read_bytes`. Pure; shared by the
// host shim and the guest agent.
import { clockTicksTo, type PidStat, type ProcValue } from '../procfs/process.js';
import { CPU_TIME_COLUMNS, NET_DEV_COLUMNS, type CpuTimes, type NetDev } from '../procfs/system.js';

export type LabelledValue = readonly [Readonly<Record<string, string>>, number];

const item = (name: string, value: number): LabelledValue => [{ item: name }, value];

/** /proc/<pid>/status keys Kata reports, each as its lower-cased key. The Rust agent has no VmPMD. */
const STATUS_KEYS = [
  'VmPeak', 'VmSize', 'VmLck', 'VmPin', 'VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmData', 'VmStk',
  'VmExe', 'VmLib', 'VmPTE', 'VmPMD', 'VmSwap', 'HugetlbPages', 'voluntary_ctxt_switches', 'nonvoluntary_ctxt_switches',
] as const;

/**
 * `proc_status` items. `side` 'host' is Kata's Go shim (sizes in bytes, with vmpmd), 'agent'
 * its Rust agent (sizes in kB, no vmpmd). A key the kernel does not print is 0, as in Kata.
 */
export function procStatusItems(status: ReadonlyMap<string, ProcValue>, side: 'host' | 'agent'): LabelledValue[] {
  return STATUS_KEYS.filter((k) => side === 'host' || k !== 'VmPMD').map((k) => {
    const v = status.get(k);
    return item(k.toLowerCase(), !v ? 0 : v.kB && side === 'host' ? v.value * 1024 : v.value);
  });
}

/** `proc_stat` items: CPU times in clock ticks, as both Kata sides report them. */
export const procStatItems = (s: PidStat): LabelledValue[] => [item('utime', s.utime), item('stime', s.stime), item('cutime', s.cutime), item('cstime', s.cstime)];

const IO_KEYS = ['rchar', 'wchar', 'syscr', 'syscw', 'read_bytes', 'write_bytes', 'cancelled_write_bytes'] as const;

/** `io_stat` items from /proc/<pid>/io; the Go shim drops the underscores of the *_bytes keys. */
export function ioStatItems(io: ReadonlyMap<string, number>, side: 'host' | 'agent'): LabelledValue[] {
  return IO_KEYS.map((k) => item(side === 'host' ? k.replace(/_/g, '') : k, io.get(k) ?? 0));
}

/** `netdev` items with their `interface`: Kata says recv_/sent_ where the kernel says rx/tx. */
export function netdevItems(devs: readonly NetDev[]): LabelledValue[] {
  return devs.flatMap((d) =>
    NET_DEV_COLUMNS.map((c): LabelledValue => [{ interface: d.name, item: c.replace(/^rx_/, 'recv_').replace(/^tx_/, 'sent_') }, d.counters[c]]),
  );
}

/** /proc/meminfo keys and Kata's item for each (the Rust procfs crate's field names). */
export const MEMINFO_ITEMS: ReadonlyArray<readonly [string, string]> = [
  ['MemTotal', 'mem_total'], ['MemFree', 'mem_free'], ['MemAvailable', 'mem_available'], ['Buffers', 'buffers'],
  ['Cached', 'cached'], ['SwapCached', 'swap_cached'], ['Active', 'active'], ['Inactive', 'inactive'],
  ['Active(anon)', 'active_anon'], ['Inactive(anon)', 'inactive_anon'], ['Active(file)', 'active_file'],
  ['Inactive(file)', 'inactive_file'], ['Unevictable', 'unevictable'], ['Mlocked', 'mlocked'],
  ['HighTotal', 'high_total'], ['HighFree', 'high_free'], ['LowTotal', 'low_total'], ['LowFree', 'low_free'],
  ['MmapCopy', 'mmap_copy'], ['SwapTotal', 'swap_total'], ['SwapFree', 'swap_free'], ['Dirty', 'dirty'],
  ['Writeback', 'writeback'], ['AnonPages', 'anon_pages'], ['Mapped', 'mapped'], ['Shmem', 'shmem'], ['Slab', 'slab'],
  ['SReclaimable', 's_reclaimable'], ['SUnreclaim', 's_unreclaim'], ['KernelStack', 'kernel_stack'],
  ['PageTables', 'page_tables'], ['Quicklists', 'quicklists'], ['NFS_Unstable', 'nfs_unstable'], ['Bounce', 'bounce'],
  ['WritebackTmp', 'writeback_tmp'], ['CommitLimit', 'commit_limit'], ['Committed_AS', 'committed_as'],
  ['VmallocTotal', 'vmalloc_total'], ['VmallocUsed', 'vmalloc_used'], ['VmallocChunk', 'vmalloc_chunk'],
  ['HardwareCorrupted', 'hardware_corrupted'], ['AnonHugePages', 'anon_hugepages'], ['ShmemHugePages', 'shmem_hugepages'],
  ['ShmemPmdMapped', 'shmem_pmd_mapped'], ['CmaTotal', 'cma_total'], ['CmaFree', 'cma_free'],
  ['HugePages_Total', 'hugepages_total'], ['HugePages_Free', 'hugepages_free'], ['HugePages_Rsvd', 'hugepages_rsvd'],
  ['HugePages_Surp', 'hugepages_surp'], ['Hugepagesize', 'hugepagesize'], ['DirectMap4k', 'direct_map_4k'],
  ['DirectMap4M', 'direct_map_4M'], ['DirectMap2M', 'direct_map_2M'], ['DirectMap1G', 'direct_map_1G'],
  ['Hugetlb', 'hugetlb'], ['Percpu', 'per_cpu'], ['KReclaimable', 'k_reclaimable'],
];

/** `meminfo` items: kB values in bytes (as the procfs crate converts them), counts as they are; absent keys 0. */
export function meminfoItems(meminfo: ReadonlyMap<string, ProcValue>): LabelledValue[] {
  return MEMINFO_ITEMS.map(([key, name]) => {
    const v = meminfo.get(key);
    return item(name, !v ? 0 : v.kB ? v.value * 1024 : v.value);
  });
}

/** `cpu_time` items with their `cpu` ("total", "0", "1"...), in milliseconds as the Rust agent reports them. */
export function cpuTimeItems(cpus: readonly CpuTimes[]): LabelledValue[] {
  return cpus.flatMap((c) => CPU_TIME_COLUMNS.map((col): LabelledValue => [{ cpu: c.cpu, item: col }, clockTicksTo(c.ticks[col], 'ms')]));
}
