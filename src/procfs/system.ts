// System-wide /proc files, parsed: meminfo, stat (CPU time), loadavg, vmstat, diskstats,
// net/dev. Pure; the guest agent reads them for its GetMetrics answer, the host shim
// reads QEMU's net/dev (the pod network namespace's devices).
import { parseKeyValues, type ProcValue } from './process.js';

/** /proc/meminfo by the kernel's key (MemTotal, Active(anon), HugePages_Total...). */
export const parseMeminfo = (text: string): Map<string, ProcValue> => parseKeyValues(text);

/** A row's numbers by column name, in order; a column the row lacks (or not a number) is 0. */
function byColumn<C extends string>(columns: readonly C[], values: readonly number[]): Record<C, number> {
  return Object.fromEntries(columns.map((c, i) => [c, values[i] || 0])) as Record<C, number>;
}

/** The ten columns of a `cpu` line of /proc/stat, in clock ticks; absent ones are 0. */
export const CPU_TIME_COLUMNS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'] as const;
export type CpuTimeColumn = (typeof CPU_TIME_COLUMNS)[number];

export interface CpuTimes {
  /** "total" for the aggregate `cpu` line, else the CPU's number ("0", "1"...). */
  readonly cpu: string;
  readonly ticks: Readonly<Record<CpuTimeColumn, number>>;
}

/** The `cpu` and `cpuN` lines of /proc/stat, the total first. */
export function parseCpuTimes(text: string): CpuTimes[] {
  const out: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const values = (m[2] ?? '').trim().split(/\s+/).map(Number);
    out.push({ cpu: m[1] === '' ? 'total' : (m[1] as string), ticks: byColumn(CPU_TIME_COLUMNS, values) });
  }
  return out;
}

export interface LoadAverage {
  readonly load1: number;
  readonly load5: number;
  readonly load15: number;
  /** Runnable scheduling entities now, and in total. */
  readonly cur: number;
  readonly max: number;
}

/** `0.20 0.18 0.12 1/80 11206` */
export function parseLoadavg(text: string): LoadAverage | undefined {
  const m = /^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\/(\d+)/.exec(text);
  if (!m) return undefined;
  return { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]), cur: Number(m[4]), max: Number(m[5]) };
}

/** /proc/vmstat: `key value` lines. */
export function parseVmstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** Columns of /proc/diskstats after major, minor and name (Documentation/admin-guide/iostats.rst). */
export const DISKSTAT_COLUMNS = [
  'reads', 'merged', 'sectors_read', 'time_reading', 'writes', 'writes_merged', 'sectors_written', 'time_writing',
  'in_progress', 'time_in_progress', 'weighted_time_in_progress', 'discards', 'discards_merged', 'sectors_discarded',
  'time_discarding', 'flushes', 'time_flushing',
] as const;

export interface DiskStat {
  readonly disk: string;
  /** By DISKSTAT_COLUMNS name; columns an older kernel does not print are absent. */
  readonly values: ReadonlyMap<string, number>;
}

export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14 || !f[2]) continue;
    const values = new Map<string, number>();
    DISKSTAT_COLUMNS.forEach((c, i) => {
      const v = f[3 + i];
      if (v !== undefined) values.set(c, Number(v));
    });
    out.push({ disk: f[2], values });
  }
  return out;
}

/** The sixteen counters of a /proc/net/dev line, receive then transmit. */
export const NET_DEV_COLUMNS = [
  'rx_bytes', 'rx_packets', 'rx_errs', 'rx_drop', 'rx_fifo', 'rx_frame', 'rx_compressed', 'rx_multicast',
  'tx_bytes', 'tx_packets', 'tx_errs', 'tx_drop', 'tx_fifo', 'tx_colls', 'tx_carrier', 'tx_compressed',
] as const;
export type NetDevColumn = (typeof NET_DEV_COLUMNS)[number];

export interface NetDev {
  readonly name: string;
  readonly counters: Readonly<Record<NetDevColumn, number>>;
}

/** /proc/net/dev (or /proc/<pid>/net/dev, the devices of that process's network namespace). */
export function parseNetDev(text: string): NetDev[] {
  const out: NetDev[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    // The two header lines have '|' and no ':'.
    if (colon <= 0 || line.includes('|')) continue;
    const values = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (values.length < NET_DEV_COLUMNS.length) continue;
    out.push({ name: line.slice(0, colon).trim(), counters: byColumn(NET_DEV_COLUMNS, values) });
  }
  return out;
}
