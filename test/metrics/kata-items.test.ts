// Kata's item labels and units, side by side with the values /proc gave.
import { describe, expect, it } from 'vitest';
import { cpuTimeItems, ioStatItems, meminfoItems, MEMINFO_ITEMS, netdevItems, procStatItems, procStatusItems } from '../../src/metrics/kata-items.js';
import { parseKeyValues, parsePidStat } from '../../src/procfs/process.js';
import { parseCpuTimes, parseMeminfo, parseNetDev } from '../../src/procfs/system.js';

const asMap = (items: ReadonlyArray<readonly [Readonly<Record<string, string>>, number]>): Map<string, number> =>
  new Map(items.map(([l, v]) => [Object.values(l).join('/'), v]));

describe("Kata's items", () => {
  const status = parseKeyValues('VmPeak:\t 2048 kB\nVmRSS:\t 1024 kB\nVmPMD:\t 12 kB\nvoluntary_ctxt_switches:\t5\n');

  it('proc_status on the host (Go procfs): bytes, with vmpmd; absent keys 0', () => {
    const m = asMap(procStatusItems(status, 'host'));
    expect(m.get('vmrss')).toBe(1024 * 1024);
    expect(m.get('vmpeak')).toBe(2048 * 1024);
    expect(m.get('vmpmd')).toBe(12 * 1024);
    expect(m.get('voluntary_ctxt_switches')).toBe(5);
    expect(m.get('vmswap')).toBe(0);
    expect(m.size).toBe(19);
  });

  it('proc_status in the agent (Rust procfs): kB, no vmpmd', () => {
    const m = asMap(procStatusItems(status, 'agent'));
    expect(m.get('vmrss')).toBe(1024);
    expect(m.has('vmpmd')).toBe(false);
    expect(m.get('voluntary_ctxt_switches')).toBe(5);
  });

  it('io_stat: the Go shim drops the underscores, the Rust agent keeps them', () => {
    const io = new Map([['read_bytes', 4096], ['rchar', 9]]);
    expect(asMap(ioStatItems(io, 'host'))).toEqual(new Map([['rchar', 9], ['wchar', 0], ['syscr', 0], ['syscw', 0], ['readbytes', 4096], ['writebytes', 0], ['cancelledwritebytes', 0]]));
    expect([...asMap(ioStatItems(io, 'agent')).keys()]).toEqual(['rchar', 'wchar', 'syscr', 'syscw', 'read_bytes', 'write_bytes', 'cancelled_write_bytes']);
  });

  it('proc_stat: clock ticks', () => {
    const s = parsePidStat('1 (x) S 0 1 1 0 -1 0 0 0 0 0 11 22 33 44 20 0 3 0 1 100 5')!;
    expect(asMap(procStatItems(s))).toEqual(new Map([['utime', 11], ['stime', 22], ['cutime', 33], ['cstime', 44]]));
  });

  it('netdev: recv_/sent_ items per interface', () => {
    const items = netdevItems(parseNetDev(' eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n'));
    expect(items.map(([l, v]) => `${l.interface}/${l.item}=${v}`)).toEqual([
      'eth0/recv_bytes=1', 'eth0/recv_packets=2', 'eth0/recv_errs=3', 'eth0/recv_drop=4', 'eth0/recv_fifo=5', 'eth0/recv_frame=6',
      'eth0/recv_compressed=7', 'eth0/recv_multicast=8', 'eth0/sent_bytes=9', 'eth0/sent_packets=10', 'eth0/sent_errs=11',
      'eth0/sent_drop=12', 'eth0/sent_fifo=13', 'eth0/sent_colls=14', 'eth0/sent_carrier=15', 'eth0/sent_compressed=16',
    ]);
  });

  it('meminfo: every Kata item, kB as bytes, counts as they are, absent keys 0', () => {
    const m = asMap(meminfoItems(parseMeminfo('MemTotal: 493116 kB\nActive(anon): 8 kB\nHugePages_Total: 3\nDirectMap2M: 4096 kB\nPercpu: 16 kB\n')));
    expect(m.size).toBe(MEMINFO_ITEMS.length);
    expect(m.get('mem_total')).toBe(493116 * 1024);
    expect(m.get('active_anon')).toBe(8192);
    expect(m.get('hugepages_total')).toBe(3);
    expect(m.get('direct_map_2M')).toBe(4096 * 1024);
    expect(m.get('per_cpu')).toBe(16 * 1024);
    expect(m.get('swap_total')).toBe(0);
  });

  it('cpu_time: milliseconds per cpu and item', () => {
    const items = cpuTimeItems(parseCpuTimes('cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 100 0 50 1000 0 0 0 0 0 0\n'));
    expect(asMap(items).get('total/user')).toBe(1000);
    expect(asMap(items).get('0/idle')).toBe(10_000);
    expect(items).toHaveLength(20);
  });
});
