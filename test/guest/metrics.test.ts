// The agent's GetMetrics text: Kata's agent and guest families from /proc files.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestMetrics, guestFamilies } from '../../src/guest/metrics.js';
import { parsePromText, type MetricFamily } from '../../src/metrics/prom-text.js';

const value = (fams: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined =>
  fams.find((f) => f.name === name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

const FILES = {
  meminfo: 'MemTotal:         493116 kB\nMemFree:          400000 kB\nHugePages_Total:       0\n',
  stat: 'cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 100 0 50 1000 0 0 0 0 0 0\nintr 1\n',
  loadavg: '0.50 0.25 0.10 2/71 300\n',
  vmstat: 'nr_free_pages 100000\npgfault 42\n',
  netDev: 'Inter-| Receive | Transmit\n face |bytes ...|bytes ...\n    lo: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n  eth0: 2000 20 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n',
  diskstats: ' 259       0 pmem0 500 0 4000 30 0 0 0 0 0 40 30 0 0 0 0 0 0\n',
  selfStat: '60 (node) S 1 60 60 0 -1 0 0 0 0 0 250 50 0 0 20 0 7 0 100 1073741824 12000',
  selfStatus: 'Name:\tnode\nVmRSS:\t   48000 kB\nvoluntary_ctxt_switches:\t10\n',
  selfIo: 'rchar: 100\nwchar: 50\nsyscr: 1\nsyscw: 1\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n',
};

describe('guest metrics', () => {
  it("Kata's agent families, with Kata's units", () => {
    const f = guestFamilies(FILES, 3);
    expect(f.map((x) => x.name)).toEqual([
      'kata_agent_scrape_count', 'kata_agent_threads', 'kata_agent_total_time', 'kata_agent_total_vm', 'kata_agent_total_rss',
      'kata_agent_proc_status', 'kata_agent_io_stat', 'kata_agent_proc_stat', 'kata_guest_load', 'kata_guest_tasks',
      'kata_guest_cpu_time', 'kata_guest_vm_stat', 'kata_guest_netdev_stat', 'kata_guest_diskstat', 'kata_guest_meminfo',
    ]);
    expect(f[0]!.type).toBe('counter');
    expect(value(f, 'kata_agent_scrape_count')).toBe(3);
    expect(value(f, 'kata_agent_threads')).toBe(7);
    expect(value(f, 'kata_agent_total_time')).toBe(3); // (250 + 50) ticks / 100
    expect(value(f, 'kata_agent_total_vm')).toBe(1073741824);
    expect(value(f, 'kata_agent_total_rss')).toBe(48000 * 1024);
    expect(value(f, 'kata_agent_proc_status', { item: 'vmrss' })).toBe(48000);
    expect(value(f, 'kata_agent_proc_stat', { item: 'utime' })).toBe(250);
    expect(value(f, 'kata_guest_load', { item: 'load5' })).toBe(0.25);
    expect(value(f, 'kata_guest_tasks', { item: 'max' })).toBe(71);
    expect(value(f, 'kata_guest_cpu_time', { cpu: 'total', item: 'system' })).toBe(500);
    expect(value(f, 'kata_guest_vm_stat', { item: 'pgfault' })).toBe(42);
    expect(value(f, 'kata_guest_netdev_stat', { interface: 'eth0', item: 'sent_bytes' })).toBe(1000);
    expect(value(f, 'kata_guest_diskstat', { disk: 'pmem0', item: 'sectors_read' })).toBe(4000);
    expect(value(f, 'kata_guest_meminfo', { item: 'mem_total' })).toBe(493116 * 1024);
  });

  it('a file that could not be read leaves out its families only', () => {
    const { netDev: _n, selfIo: _i, ...rest } = FILES;
    const names = guestFamilies(rest, 1).map((x) => x.name);
    expect(names).not.toContain('kata_guest_netdev_stat');
    expect(names).not.toContain('kata_agent_io_stat');
    expect(names).toContain('kata_guest_meminfo');
  });

  it('collect() reads a proc tree, counts its scrapes and writes text the host can parse', async () => {
    const root = mkdtempSync(join(tmpdir(), 'guest-proc-'));
    try {
      mkdirSync(join(root, 'self'));
      mkdirSync(join(root, 'net'));
      writeFileSync(join(root, 'meminfo'), FILES.meminfo);
      writeFileSync(join(root, 'self/stat'), FILES.selfStat);
      writeFileSync(join(root, 'net/dev'), FILES.netDev);
      const m = new GuestMetrics(root);
      await m.collect();
      const fams = parsePromText(await m.collect());
      expect(value(fams, 'kata_agent_scrape_count')).toBe(2);
      expect(value(fams, 'kata_guest_meminfo', { item: 'mem_total' })).toBe(493116 * 1024);
      expect(value(fams, 'kata_guest_netdev_stat', { interface: 'lo', item: 'recv_bytes' })).toBe(10);
      expect(fams.some((f) => f.name === 'kata_guest_load')).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("on this machine's real /proc every family is there", async () => {
    const fams = parsePromText(await new GuestMetrics().collect());
    expect(value(fams, 'kata_guest_meminfo', { item: 'mem_total' })).toBeGreaterThan(0);
    expect(value(fams, 'kata_agent_total_rss')).toBeGreaterThan(0);
    expect(value(fams, 'kata_guest_cpu_time', { cpu: '0', item: 'user' })).toBeGreaterThan(0);
  });
});
