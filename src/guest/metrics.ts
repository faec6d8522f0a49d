// GetMetrics: the guest's /proc and the agent's own process as Prometheus text, with the
// names, help texts and items of Kata's Rust agent (src/agent/src/metrics.rs). Built as a
// plain string (no client library: the agent's start-up time in the guest matters); the
// host shim parses it and re-exposes it on its /metrics.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clockTicksTo, parseKeyValues, parsePidIo, parsePidStat } from '../procfs/process.js';
import { parseCpuTimes, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseVmstat } from '../procfs/system.js';
import { cpuTimeItems, ioStatItems, meminfoItems, netdevItems, procStatItems, procStatusItems } from '../metrics/kata-items.js';
import { counter, formatPromText, gauge, type MetricFamily } from '../metrics/prom-text.js';

/** The /proc files read, as text; a file that could not be read is undefined and its families are left out. */
export interface GuestProcFiles {
  readonly meminfo?: string;
  readonly stat?: string;
  readonly loadavg?: string;
  readonly vmstat?: string;
  readonly netDev?: string;
  readonly diskstats?: string;
  readonly selfStat?: string;
  readonly selfStatus?: string;
  readonly selfIo?: string;
}

const FILES: Readonly<Record<keyof GuestProcFiles, string>> = {
  meminfo: 'meminfo',
  stat: 'stat',
  loadavg: 'loadavg',
  vmstat: 'vmstat',
  netDev: 'net/dev',
  diskstats: 'diskstats',
  selfStat: 'self/stat',
  selfStatus: 'self/status',
  selfIo: 'self/io',
};

/** Kata's agent and guest families from the files. Pure. */
export function guestFamilies(files: GuestProcFiles, scrapeCount: number): MetricFamily[] {
  const out: MetricFamily[] = [counter('kata_agent_scrape_count', 'Metrics scrape count', scrapeCount)];
  const one = (name: string, help: string, value: number): MetricFamily => gauge(name, help, [[{}, value]]);

  const stat = files.selfStat === undefined ? undefined : parsePidStat(files.selfStat);
  const status = files.selfStatus === undefined ? undefined : parseKeyValues(files.selfStatus);
  if (stat) {
    out.push(
      one('kata_agent_threads', 'Agent process threads', stat.numThreads),
      one('kata_agent_total_time', 'Agent process total time', clockTicksTo(stat.utime + stat.stime, 's')),
      one('kata_agent_total_vm', 'Agent process total VM size', stat.vsize),
    );
  }
  const rss = status?.get('VmRSS');
  if (rss) out.push(one('kata_agent_total_rss', 'Agent process total RSS size', rss.value * 1024));
  if (status) out.push(gauge('kata_agent_proc_status', 'Agent process status.', procStatusItems(status, 'agent')));
  if (files.selfIo !== undefined) out.push(gauge('kata_agent_io_stat', 'Agent process IO statistics.', ioStatItems(parsePidIo(files.selfIo), 'agent')));
  if (stat) out.push(gauge('kata_agent_proc_stat', 'Agent process statistics.', procStatItems(stat)));

  const load = files.loadavg === undefined ? undefined : parseLoadavg(files.loadavg);
  if (load) {
    out.push(
      gauge('kata_guest_load', 'Guest system load.', [[{ item: 'load1' }, load.load1], [{ item: 'load5' }, load.load5], [{ item: 'load15' }, load.load15]]),
      // Kata's help text for tasks repeats the load's.
      gauge('kata_guest_tasks', 'Guest system load.', [[{ item: 'cur' }, load.cur], [{ item: 'max' }, load.max]]),
    );
  }
  if (files.stat !== undefined) out.push(gauge('kata_guest_cpu_time', 'Guest CPU statistics.', cpuTimeItems(parseCpuTimes(files.stat))));
  if (files.vmstat !== undefined) {
    out.push(gauge('kata_guest_vm_stat', 'Guest virtual memory statistics.', [...parseVmstat(files.vmstat)].map(([k, v]) => [{ item: k }, v] as const)));
  }
  if (files.netDev !== undefined) out.push(gauge('kata_guest_netdev_stat', 'Guest net devices statistics.', netdevItems(parseNetDev(files.netDev))));
  if (files.diskstats !== undefined) {
    const disks = parseDiskstats(files.diskstats);
    out.push(gauge('kata_guest_diskstat', 'Disks statistics in system.', disks.flatMap((d) => [...d.values].map(([k, v]) => [{ disk: d.disk, item: k }, v] as const))));
  }
  if (files.meminfo !== undefined) out.push(gauge('kata_guest_meminfo', 'Statistics about memory usage in the system.', meminfoItems(parseMeminfo(files.meminfo))));
  return out;
}

/** Reads the files under `procRoot` (all at once; a missing one is left out, as Kata's agent skips it). */
export async function readGuestProcFiles(procRoot = '/proc'): Promise<GuestProcFiles> {
  const entries = await Promise.all(
    Object.entries(FILES).map(async ([key, rel]) => [key, await readFile(join(procRoot, rel), 'utf8').catch(() => undefined)] as const),
  );
  return Object.fromEntries(entries.filter(([, text]) => text !== undefined));
}

/** The agent's GetMetrics: counts its scrapes. */
export class GuestMetrics {
  #scrapes = 0;
  constructor(private readonly procRoot = '/proc') {}

  async collect(): Promise<string> {
    this.#scrapes++;
    return formatPromText(guestFamilies(await readGuestProcFiles(this.procRoot), this.#scrapes));
  }
}
