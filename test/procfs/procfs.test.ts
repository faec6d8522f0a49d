// The /proc parsers on text captured from a Debian 12 host and the guest kernel (6.1).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseKeyValues, parsePidIo, parsePidStat } from '../../src/procfs/process.js';
import { parseCpuTimes, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseVmstat } from '../../src/procfs/system.js';

const STAT = '4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 31415 0 12 0 1500 250 7 3 20 0 9 0 123456 2147483648 51200 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0';

const STATUS = `Name:\tqemu-system-x86
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
Threads:\t9
VmPeak:\t 2097152 kB
VmRSS:\t  204800 kB
RssAnon:\t  102400 kB
VmPMD:\t      12 kB
HugetlbPages:\t       0 kB
Cpus_allowed:\tf
voluntary_ctxt_switches:\t1200
nonvoluntary_ctxt_switches:\t34
`;

describe('/proc/<pid> files', () => {
  it('stat: the fields after the command name, which may hold spaces and parentheses', () => {
    expect(parsePidStat(STAT)).toEqual({ state: 'S', ppid: 1, pgid: 4242, utime: 1500, stime: 250, cutime: 7, cstime: 3, numThreads: 9, vsize: 2147483648, rssPages: 51200 });
    expect(parsePidStat('77 (a) b) (c) S 5 70 70 0')).toMatchObject({ state: 'S', ppid: 5, pgid: 70, utime: 0, numThreads: 0 });
    expect(parsePidStat('garbage')).toBeUndefined();
  });

  it('stat of this very process parses with plausible values', () => {
    const s = parsePidStat(readFileSync('/proc/self/stat', 'utf8'))!;
    expect(s.ppid).toBe(process.ppid);
    expect(s.numThreads).toBeGreaterThan(0);
    expect(s.rssPages).toBeGreaterThan(0);
  });

  it('status: numeric keys with their unit; text keys are skipped', () => {
    const m = parseKeyValues(STATUS);
    expect(m.get('VmRSS')).toEqual({ value: 204800, kB: true });
    expect(m.get('voluntary_ctxt_switches')).toEqual({ value: 1200, kB: false });
    expect(m.get('Threads')).toEqual({ value: 9, kB: false });
    expect(m.has('Name')).toBe(false);
    expect(m.has('State')).toBe(false);
    expect(m.has('Cpus_allowed')).toBe(false); // hex mask "f" is not a decimal count
  });

  it('io', () => {
    expect([...parsePidIo('rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 0\ncancelled_write_bytes: 0\n')]).toEqual([
      ['rchar', 10], ['wchar', 20], ['syscr', 3], ['syscw', 4], ['read_bytes', 4096], ['write_bytes', 0], ['cancelled_write_bytes', 0],
    ]);
  });
});

describe('system files', () => {
  it('meminfo: kB and unitless keys, parenthesised keys kept', () => {
    const m = parseMeminfo('MemTotal:         493116 kB\nActive(anon):       1024 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n');
    expect(m.get('MemTotal')).toEqual({ value: 493116, kB: true });
    expect(m.get('Active(anon)')).toEqual({ value: 1024, kB: true });
    expect(m.get('HugePages_Total')).toEqual({ value: 0, kB: false });
  });

  it('stat: the total line first, then each CPU; missing columns are 0', () => {
    const cpus = parseCpuTimes('cpu  100 2 30 4000 5 0 6 0 0 0\ncpu0 60 1 20 2000 3 0 4 0 0 0\ncpu1 40 1 10 2000 2\nintr 12345 0\nctxt 999\n');
    expect(cpus.map((c) => c.cpu)).toEqual(['total', '0', '1']);
    expect(cpus[0]!.ticks).toEqual({ user: 100, nice: 2, system: 30, idle: 4000, iowait: 5, irq: 0, softirq: 6, steal: 0, guest: 0, guest_nice: 0 });
    expect(cpus[2]!.ticks.softirq).toBe(0);
  });

  it('loadavg', () => {
    expect(parseLoadavg('0.20 0.18 0.12 1/80 11206\n')).toEqual({ load1: 0.2, load5: 0.18, load15: 0.12, cur: 1, max: 80 });
    expect(parseLoadavg('')).toBeUndefined();
  });

  it('vmstat', () => {
    expect([...parseVmstat('nr_free_pages 100\npgfault 12345\n\n')]).toEqual([['nr_free_pages', 100], ['pgfault', 12345]]);
  });

  it('diskstats: 20-column (6.1) and 14-column (old) lines', () => {
    const d = parseDiskstats('   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n 254       0 vda 120 4 5000 80 0 0 0 0 0 90 80\n');
    expect(d.map((x) => x.disk)).toEqual(['ram0', 'vda']);
    expect(d[1]!.values.get('reads')).toBe(120);
    expect(d[1]!.values.get('sectors_read')).toBe(5000);
    expect(d[1]!.values.has('discards')).toBe(false);
    expect(d[0]!.values.get('time_flushing')).toBe(0);
  });

  it('net/dev: the header lines are skipped, names keep no padding', () => {
    const devs = parseNetDev(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 123456     789    1    2    0     0          0         3    65432     321    0    0    0     0       0          0
`);
    expect(devs.map((d) => d.name)).toEqual(['lo', 'eth0']);
    expect(devs[1]!.counters).toMatchObject({ rx_bytes: 123456, rx_packets: 789, rx_errs: 1, rx_drop: 2, rx_multicast: 3, tx_bytes: 65432, tx_packets: 321 });
  });
});
