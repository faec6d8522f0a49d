// Metrics of real pods (containerd 1.6, QEMU, the guest agent): the shim's /metrics on the
// sandbox's management socket with live figures of the shim, QEMU, the agent and the
// guest; guest memory growing with an Update that hot-adds memory; kata-monitor serving two
// pods with their labels and dropping one once it is removed. One VM for the first pod is
// shared by every case; the second pod boots only for the monitor's case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePromText, type MetricFamily, type Sample } from '../../src/metrics/prom-text.js';
import { getFromShim } from '../../src/shim/monitor-client.js';
import { monitorSocketPath } from '../../src/shim/monitor-server.js';
import { startKataMonitor, type RunningMonitor } from '../support/kata-monitor.js';
import { waitUntil } from '../support/wait.js';
import { podAnnotations, startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';
import { updateTask } from './tasks-client.js';

const pid = process.pid;
const POD = `e2e-metrics-${pid}`;
const PLAIN = `e2e-metrics-plain-${pid}`;
const MiB = 1024 * 1024;
const CRI = { 'io.kubernetes.cri.sandbox-uid': `uid-${pid}`, 'io.kubernetes.cri.sandbox-name': 'web', 'io.kubernetes.cri.sandbox-namespace': 'shop' };

const find = (fams: MetricFamily[], name: string, labels: Record<string, string> = {}): Sample | undefined =>
  fams.find((f) => f.name === name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const value = (fams: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined => find(fams, name, labels)?.value;
/** The sample count of a histogram for one action. */
const observations = (fams: MetricFamily[], name: string, action: string): number | undefined =>
  fams.find((f) => f.name === name)?.samples.find((s) => s.name === `${name}_count` && s.labels.action === action)?.value;

describe('metrics of running pods', () => {
  let env: KataEnv;
  let monitor: RunningMonitor | undefined;
  const shimMetrics = async (id = POD): Promise<MetricFamily[]> => parsePromText(await getFromShim(monitorSocketPath(id), '/metrics', 30_000));
  const run = (id: string, extra: string[]): Promise<string> =>
    env.cd.ctrOk(['run', '-d', '--runtime', RUNTIME, ...extra, env.image, id, 'sleep', '100000'], { timeoutMs: 180_000 });
  const remove = async (id: string): Promise<void> => {
    await env.cd.ctr(['task', 'kill', '-s', 'KILL', id]);
    await waitUntil(async () => !(await env.cd.ctrOk(['task', 'ls'])).split('\n').some((l) => l.startsWith(`${id} `) && !l.includes('STOPPED')), {
      what: `${id} to stop`,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    await env.cd.ctrOk(['task', 'delete', id], { timeoutMs: 60_000 });
    await env.cd.ctrOk(['container', 'delete', id]);
  };

  beforeAll(async () => {
    env = await startKataEnv();
    await run(POD, [...podAnnotations(POD, 'sandbox'), ...Object.entries(CRI).flatMap(([k, v]) => ['--annotation', `${k}=${v}`])]);
  }, 240_000);

  afterAll(async () => {
    await monitor?.stop();
    for (const id of [PLAIN, POD]) await env?.cd.ctr(['task', 'kill', '-s', 'KILL', id]).catch(() => undefined);
    await env?.stop([PLAIN, POD]);
  }, 180_000);

  it("the shim's /metrics: live figures of the shim, QEMU, the agent and the guest", async () => {
    const fams = await shimMetrics();
    expect(value(fams, 'kata_shim_threads')).toBeGreaterThan(0);
    expect(value(fams, 'kata_shim_fds')).toBeGreaterThan(0);
    expect(value(fams, 'kata_shim_proc_status', { item: 'vmrss' })).toBeGreaterThan(10 * MiB);
    expect(value(fams, 'kata_hypervisor_threads')).toBeGreaterThan(1);
    expect(value(fams, 'kata_hypervisor_fds')).toBeGreaterThan(0);
    expect(value(fams, 'kata_hypervisor_proc_status', { item: 'vmrss' })).toBeGreaterThan(50 * MiB);
    expect(value(fams, 'kata_hypervisor_proc_stat', { item: 'utime' })).toBeGreaterThan(0);
    // ctr run: one Create and one Start reached the shim; the agent got the sandbox and the container.
    expect(observations(fams, 'kata_shim_rpc_durations_histogram_milliseconds', 'create')).toBe(1);
    expect(observations(fams, 'kata_shim_rpc_durations_histogram_milliseconds', 'start')).toBe(1);
    expect(observations(fams, 'kata_shim_agent_rpc_durations_histogram_milliseconds', 'grpc.CreateSandboxRequest')).toBe(1);
    expect(observations(fams, 'kata_shim_agent_rpc_durations_histogram_milliseconds', 'grpc.CreateContainerRequest')).toBe(1);
    expect(observations(fams, 'kata_shim_agent_rpc_durations_histogram_milliseconds', 'grpc.StartContainerRequest')).toBe(1);
    // The guest: 512 MiB of RAM less what the kernel keeps; the agent (node) is tens of MiB.
    expect(value(fams, 'kata_guest_meminfo', { item: 'mem_total' })).toBeGreaterThan(300 * MiB);
    expect(value(fams, 'kata_guest_meminfo', { item: 'mem_total' })).toBeLessThanOrEqual(512 * MiB);
    expect(value(fams, 'kata_guest_meminfo', { item: 'mem_free' })).toBeGreaterThan(0);
    expect(value(fams, 'kata_agent_total_rss')).toBeGreaterThan(10 * MiB);
    expect(value(fams, 'kata_agent_threads')).toBeGreaterThan(1);
    expect(value(fams, 'kata_guest_cpu_time', { cpu: 'total', item: 'user' })).toBeGreaterThan(0);
    expect(value(fams, 'kata_guest_vm_stat', { item: 'pgfault' })).toBeGreaterThan(0);
    expect(value(fams, 'kata_guest_tasks', { item: 'max' })).toBeGreaterThan(0);
    expect(find(fams, 'kata_guest_netdev_stat', { interface: 'lo', item: 'recv_bytes' })).toBeDefined();
    // QEMU holds the guest's RAM and more; the one container uses a few MiB of it.
    expect(value(fams, 'kata_shim_pod_overhead_memory_in_bytes')).toBeGreaterThan(0);
  }, 120_000);

  it('figures move between scrapes: the agent counts them, the guest clock runs', async () => {
    const first = await shimMetrics();
    const guestTime = (f: MetricFamily[]): number =>
      (f.find((x) => x.name === 'kata_guest_cpu_time')?.samples ?? []).filter((s) => s.labels.cpu === 'total').reduce((sum, s) => sum + s.value, 0);
    let latest = first;
    await waitUntil(async () => guestTime((latest = await shimMetrics())) > guestTime(first), { what: "the guest's CPU time to grow", timeoutMs: 30_000, intervalMs: 100 });
    expect(value(latest, 'kata_agent_scrape_count')).toBeGreaterThan(value(first, 'kata_agent_scrape_count')!);
    expect(observations(latest, 'kata_shim_agent_rpc_durations_histogram_milliseconds', 'grpc.GetMetricsRequest')).toBeGreaterThan(1);
  }, 60_000);

  it('an Update that hot-adds memory shows in kata_guest_meminfo mem_total', async () => {
    const before = value(await shimMetrics(), 'kata_guest_meminfo', { item: 'mem_total' })!;
    await updateTask(env.cd.address, 'default', POD, { memory: { limit: 256 * MiB } });
    const fams = await shimMetrics();
    expect(value(fams, 'kata_guest_meminfo', { item: 'mem_total' })! - before).toBeGreaterThanOrEqual(256 * MiB);
    expect(observations(fams, 'kata_shim_rpc_durations_histogram_milliseconds', 'update')).toBe(1);
    expect(observations(fams, 'kata_shim_agent_rpc_durations_histogram_milliseconds', 'grpc.OnlineCPUMemRequest')).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('kata-monitor serves both pods with their labels, and drops a pod once it is removed', async () => {
    await run(PLAIN, []);
    monitor = await startKataMonitor();
    const mon = monitor;
    const memTotals = async (): Promise<Sample[]> => {
      const res = await mon.get('/metrics');
      expect(res.status).toBe(200);
      return (parsePromText(res.body).find((f) => f.name === 'kata_guest_meminfo')?.samples ?? []).filter((s) => s.labels.item === 'mem_total');
    };
    let samples = await memTotals();
    const pod = samples.find((s) => s.labels.sandbox_id === POD);
    const plain = samples.find((s) => s.labels.sandbox_id === PLAIN);
    expect(pod?.labels).toEqual({ item: 'mem_total', sandbox_id: POD, cri_uid: `uid-${pid}`, cri_name: 'web', cri_namespace: 'shop' });
    expect(plain?.labels).toEqual({ item: 'mem_total', sandbox_id: PLAIN });
    // The first pod's hot-added memory is there; the second booted at the default size.
    expect(pod!.value).toBeGreaterThan(plain!.value);
    expect((await mon.get('/sandboxes')).body.split('\n')).toEqual(expect.arrayContaining([POD, PLAIN]));

    await remove(PLAIN);
    samples = await memTotals();
    expect(samples.some((s) => s.labels.sandbox_id === PLAIN)).toBe(false);
    expect(samples.some((s) => s.labels.sandbox_id === POD)).toBe(true);
    expect((await mon.get('/sandboxes')).body.split('\n')).not.toContain(PLAIN);
    expect(await mon.stop()).toBe(0);
    monitor = undefined;
  }, 300_000);
});
