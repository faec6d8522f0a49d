// The shim's /metrics body from a fake /proc tree and a fake sandbox: every Kata family,
// the units, the overhead between two scrapes, and a guest that fails or hangs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log/logger.js';
import { podOverhead } from '../../src/metrics/overhead.js';
import { parsePromText, type MetricFamily } from '../../src/metrics/prom-text.js';
import { ShimMetrics, taskRpcAction, type SandboxMetricsSource } from '../../src/metrics/shim-metrics.js';

const log = createLogger({ level: 'silent' });
const GUEST = '# HELP kata_guest_meminfo Statistics about memory usage in the system.\n# TYPE kata_guest_meminfo gauge\nkata_guest_meminfo{item="mem_total"} 536870912\n';

function fakeProcess(root: string, pid: string, o: { utime: number; stime: number; threads: number; rssKb: number; fds: number; netDev?: string }): void {
  const dir = join(root, pid);
  mkdirSync(join(dir, 'fd'), { recursive: true });
  mkdirSync(join(dir, 'net'), { recursive: true });
  writeFileSync(join(dir, 'stat'), `${pid} (proc) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 ${o.utime} ${o.stime} 0 0 20 0 ${o.threads} 0 1 1000000 ${o.rssKb / 4}`);
  writeFileSync(join(dir, 'status'), `Name:\tproc\nVmRSS:\t${o.rssKb} kB\nvoluntary_ctxt_switches:\t3\n`);
  writeFileSync(join(dir, 'io'), 'rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\ncancelled_write_bytes: 7\n');
  for (let i = 0; i < o.fds; i++) writeFileSync(join(dir, 'fd', String(i)), '');
  if (o.netDev) writeFileSync(join(dir, 'net/dev'), o.netDev);
}

const value = (fams: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined =>
  fams.find((f) => f.name === name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('ShimMetrics', () => {
  let root: string;
  let now: number;
  let usage: { cpuNs: number; memoryBytes: number };
  let guest: () => Promise<string>;
  const source: SandboxMetricsSource = { vmPids: () => [4242, 4243], guestMetrics: () => guest(), guestUsage: async () => usage };
  const metrics = (timeoutMs = 5_000) => new ShimMetrics({ log, procRoot: root, now: () => now, guestTimeoutMs: timeoutMs });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'shim-metrics-'));
    fakeProcess(root, 'self', { utime: 10, stime: 5, threads: 11, rssKb: 60_000, fds: 3 });
    fakeProcess(root, '4242', { utime: 100, stime: 0, threads: 7, rssKb: 300_000, fds: 2, netDev: 'Inter-|\n face |\n tap0_kata: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n' });
    fakeProcess(root, '4243', { utime: 0, stime: 0, threads: 1, rssKb: 10_000, fds: 1 });
    now = 1_000;
    usage = { cpuNs: 0, memoryBytes: 100 * 1024 * 1024 };
    guest = async () => GUEST;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("the shim's and the hypervisor's process families, with the Go shim's items and units", async () => {
    const fams = parsePromText(await metrics().render(source));
    expect(value(fams, 'kata_shim_threads')).toBe(11);
    expect(value(fams, 'kata_shim_fds')).toBe(3);
    expect(value(fams, 'kata_shim_proc_status', { item: 'vmrss' })).toBe(60_000 * 1024);
    expect(value(fams, 'kata_shim_proc_stat', { item: 'utime' })).toBe(10);
    expect(value(fams, 'kata_shim_io_stat', { item: 'readbytes' })).toBe(5);
    // The hypervisor is the first pid (QEMU), not its helpers.
    expect(value(fams, 'kata_hypervisor_threads')).toBe(7);
    expect(value(fams, 'kata_hypervisor_fds')).toBe(2);
    expect(value(fams, 'kata_hypervisor_proc_status', { item: 'vmrss' })).toBe(300_000 * 1024);
    expect(value(fams, 'kata_hypervisor_proc_stat', { item: 'utime' })).toBe(100);
    expect(value(fams, 'kata_hypervisor_netdev', { interface: 'tap0_kata', item: 'sent_bytes' })).toBe(20);
    expect(value(fams, 'kata_guest_meminfo', { item: 'mem_total' })).toBe(536870912);
    expect(fams.find((f) => f.name === 'kata_shim_pod_overhead_cpu')?.help).toBe('Kata Pod overhead for CPU resources(percent).');
  });

  it('RPC latencies in histograms by action: task methods in snake case, agent requests by proto name', async () => {
    const m = metrics();
    m.observeTaskRpc('ResizePty', 3);
    m.observeTaskRpc('Create', 700);
    m.observeAgentRpc('grpc.CreateContainerRequest', 0.5);
    const fams = parsePromText(await m.render(source));
    const rpc = 'kata_shim_rpc_durations_histogram_milliseconds';
    expect(fams.find((f) => f.name === rpc)?.type).toBe('histogram');
    const bucket = (name: string, action: string, le: string) => fams.find((f) => f.name === name)?.samples.find((s) => s.name === `${name}_bucket` && s.labels.action === action && s.labels.le === le)?.value;
    expect([bucket(rpc, 'resize_pty', '2'), bucket(rpc, 'resize_pty', '4'), bucket(rpc, 'create', '512'), bucket(rpc, 'create', '+Inf')]).toEqual([0, 1, 0, 1]);
    expect(bucket('kata_shim_agent_rpc_durations_histogram_milliseconds', 'grpc.CreateContainerRequest', '1')).toBe(1);
  });

  it('pod overhead: memory at once, CPU from the second scrape on, over the time between them', async () => {
    const m = metrics();
    let fams = parsePromText(await m.render(source));
    // QEMU's and its helper's RSS, less what the containers use.
    expect(value(fams, 'kata_shim_pod_overhead_memory_in_bytes')).toBe((300_000 + 10_000) * 1024 - 100 * 1024 * 1024);
    expect(value(fams, 'kata_shim_pod_overhead_cpu')).toBe(0);
    // One second later QEMU used 0.5 s more CPU (50 ticks), the containers 0.2 s of it.
    fakeProcess(root, '4242', { utime: 150, stime: 0, threads: 7, rssKb: 300_000, fds: 2 });
    now += 1_000;
    usage = { cpuNs: 0.2e9, memoryBytes: 100 * 1024 * 1024 };
    fams = parsePromText(await m.render(source));
    expect(value(fams, 'kata_shim_pod_overhead_cpu')).toBeCloseTo(30, 6);
  });

  it('a guest that fails, hangs or answers garbage leaves out only its own part', async () => {
    for (const g of [async () => { throw new Error('agent gone'); }, () => new Promise<string>(() => undefined), async () => 'this is { not prometheus']) {
      guest = g;
      const fams = parsePromText(await metrics(20).render(source));
      expect(fams.some((f) => f.name === 'kata_guest_meminfo')).toBe(false);
      expect(value(fams, 'kata_shim_threads')).toBe(11);
    }
  });

  it('a VM that is gone empties the hypervisor families', async () => {
    const m = metrics();
    await m.render(source);
    const fams = parsePromText(await m.render({ ...source, vmPids: () => [] }));
    expect(value(fams, 'kata_hypervisor_threads')).toBe(0);
    expect(fams.find((f) => f.name === 'kata_hypervisor_netdev')?.samples ?? []).toEqual([]);
    expect(fams.find((f) => f.name === 'kata_hypervisor_proc_status')?.samples ?? []).toEqual([]);
  });

  it("the real /proc: this process's figures are live", async () => {
    const fams = parsePromText(await new ShimMetrics({ log }).render({ ...source, vmPids: () => [process.pid] }));
    expect(value(fams, 'kata_shim_threads')).toBeGreaterThan(0);
    expect(value(fams, 'kata_hypervisor_proc_status', { item: 'vmrss' })).toBeGreaterThan(1024 * 1024);
    expect(value(fams, 'kata_hypervisor_netdev', { interface: 'lo', item: 'recv_bytes' })).toBeGreaterThanOrEqual(0);
  });
});

describe('pure parts', () => {
  it('task actions as Kata names them', () => {
    expect(['Create', 'ResizePty', 'CloseIO', 'Pids', 'Shutdown'].map(taskRpcAction)).toEqual(['create', 'resize_pty', 'close_io', 'pids', 'shutdown']);
  });

  it('overhead is undefined for CPU without a previous sample or with no time passed', () => {
    const s = { atMs: 0, hostCpuNs: 0, hostMemoryBytes: 10, guestCpuNs: 0, guestMemoryBytes: 4 };
    expect(podOverhead(undefined, s)).toEqual({ cpuPercent: undefined, memoryBytes: 6 });
    expect(podOverhead(s, s).cpuPercent).toBeUndefined();
    expect(podOverhead(s, { ...s, atMs: 2000, hostCpuNs: 1e9, guestCpuNs: 0.5e9 }).cpuPercent).toBe(25);
  });
});
