// Resource management through containerd: containers of one pod add their CPU
// fractions before rounding, Update grows the VM (a zero quota changes nothing),
// deleting a container gives its vCPUs back, caps are reported, static sizing never
// hotplugs.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { eventually, startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';
import { updateTask } from './tasks-client.js';

const DIST = join(import.meta.dirname, '../../dist');
const pid = process.pid;
const SB = `e2e-pod-${pid}`;
const A = `e2e-poda-${pid}`;
const B = `e2e-podb-${pid}`;
const ST = `e2e-static-${pid}`;

const podAnnotations = (type: 'sandbox' | 'container', sandboxId: string): string[] =>
  ['--annotation', `io.kubernetes.cri.container-type=${type}`, '--annotation', `io.kubernetes.cri.sandbox-id=${sandboxId}`];

describe('pod sizing through containerd', () => {
  let env: KataEnv;
  const run = (id: string, extra: string[]): Promise<string> =>
    env.cd.ctrOk(['run', '-d', '--runtime', RUNTIME, ...extra, env.image, id, 'sleep', '1000'], { timeoutMs: 120_000 });
  const nproc = async (id: string): Promise<number> =>
    Number((await env.cd.ctrOk(['task', 'exec', '--exec-id', `n${Math.random().toString(36).slice(2, 8)}`, id, 'nproc'], { timeoutMs: 60_000 })).trim());
  const sizing = (id: string): string => execFileSync('node', [join(DIST, 'kata-runtime.mjs'), 'sandbox-sizing', id], { encoding: 'utf8' });
  const qemuCount = (): number => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('qemu-system') && l.includes(`sandbox-${SB}`)).length;

  beforeAll(async () => {
    env = await startKataEnv();
  }, 120_000);

  afterAll(async () => {
    for (const id of [B, A, SB, ST]) {
      await env?.cd.ctr(['task', 'kill', '-s', 'KILL', id]).catch(() => undefined);
    }
    await env?.stop([SB, ST]);
  }, 120_000);

  it('two containers of 0.5 CPU add one vCPU, not two', async () => {
    await run(SB, podAnnotations('sandbox', SB));
    expect(await nproc(SB)).toBe(1);
    await run(A, [...podAnnotations('container', SB), '--cpus', '0.5']);
    await run(B, [...podAnnotations('container', SB), '--cpus', '0.5']);
    expect(qemuCount()).toBe(1);
    expect(await nproc(B)).toBe(2);
    expect(sizing(SB)).toContain('vCPUs = ceil(default_vcpus 1 + containers 1) = 2');
  }, 240_000);

  it('Update with a zero quota leaves the vCPUs alone; a larger quota and memory limit grow the VM', async () => {
    await updateTask(env.cd.address, 'default', A, { cpu: { quota: 0, period: 0 } });
    expect(await nproc(A)).toBe(2);
    const memBefore = Number((await env.cd.ctrOk(['task', 'exec', '--exec-id', 'm1', A, 'grep', 'MemTotal', '/proc/meminfo'])).match(/(\d+)/)![1]);
    await updateTask(env.cd.address, 'default', A, { cpu: { quota: 150000, period: 100000 }, memory: { limit: 256 * 1024 * 1024 } });
    expect(await nproc(A)).toBe(3);
    const memAfter = Number((await env.cd.ctrOk(['task', 'exec', '--exec-id', 'm2', A, 'grep', 'MemTotal', '/proc/meminfo'])).match(/(\d+)/)![1]);
    expect(memAfter - memBefore).toBeGreaterThanOrEqual(256 * 1024);
  }, 120_000);

  it('caps at default_maxvcpus, reports the cap, and keeps QEMU alive', async () => {
    await updateTask(env.cd.address, 'default', B, { cpu: { quota: 800000, period: 100000 } });
    expect(await nproc(B)).toBe(4);
    expect(sizing(SB)).toMatch(/capped to 4 by default_maxvcpus = 4/);
    expect(qemuCount()).toBe(1);
  }, 120_000);

  it('deleting a container gives its vCPUs back', async () => {
    await env.cd.ctrOk(['task', 'kill', '-s', 'KILL', B]);
    expect(await eventually(async () => (await env.cd.ctrOk(['task', 'ls'])).split('\n').some((l) => l.startsWith(B) && l.includes('STOPPED')))).toBe(true);
    await env.cd.ctrOk(['task', 'delete', B], { timeoutMs: 60_000 });
    await env.cd.ctrOk(['container', 'delete', B]);
    // A asks for 1.5 CPUs: ceil(1 + 1.5) = 3.
    expect(await nproc(A)).toBe(3);
  }, 120_000);

  it('static sizing from the CRI sandbox annotations boots at that size and never hotplugs', async () => {
    // The pod above is done: its TCG vCPUs would only slow this VM's boot on 2 cores.
    for (const id of [A, SB]) {
      await env.cd.ctr(['task', 'kill', '-s', 'KILL', id]);
      await eventually(async () => (await env.cd.ctrOk(['task', 'ls'])).split('\n').some((l) => l.startsWith(id) && l.includes('STOPPED')));
      await env.cd.ctr(['task', 'delete', id], { timeoutMs: 60_000 });
    }
    await run(ST, [
      ...podAnnotations('sandbox', ST),
      '--annotation', 'io.kubernetes.cri.sandbox-cpu-quota=100000',
      '--annotation', 'io.kubernetes.cri.sandbox-cpu-period=100000',
      '--annotation', `io.kubernetes.cri.sandbox-memory=${256 * 1024 * 1024}`,
    ]);
    expect(await nproc(ST)).toBe(2);
    await updateTask(env.cd.address, 'default', ST, { cpu: { quota: 300000, period: 100000 } });
    expect(await nproc(ST)).toBe(2);
    const text = sizing(ST);
    expect(text).toContain('static (cri-annotations)');
    expect(text).toContain('boot size 2 vCPUs, 768 MiB');
  }, 180_000);
});
