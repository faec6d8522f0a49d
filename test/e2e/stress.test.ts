// Load on one sandbox through containerd: many execs at once and in a row lose no line and
// leave no exec behind; Creates and Updates racing on one pod boot one VM and hotplug
// each CPU into its own slot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podAnnotations, startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';
import { qemuPids } from './leftovers.js';
import { updateTask } from './tasks-client.js';

const LINES = 200;
const EXPECTED = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join('');

describe('one sandbox under load', () => {
  let env: KataEnv;
  const sandboxes: string[] = [];

  beforeAll(async () => {
    env = await startKataEnv({ defaultMaxVcpus: 4 });
  }, 120_000);

  afterAll(async () => {
    await env?.stop(sandboxes);
  }, 180_000);

  const exec = (id: string, execId: string, args: string[]) => env.cd.ctr(['task', 'exec', '--exec-id', execId, id, ...args], { timeoutMs: 120_000 });

  it('20 concurrent execs of 200 lines and 100 in a row: every line arrives, no exec stays registered', async () => {
    const id = `stress-exec-${process.pid}`;
    sandboxes.push(id);
    await env.cd.ctrOk(['run', '-d', '--runtime', RUNTIME, env.image, id, 'sleep', '1000'], { timeoutMs: 120_000 });
    const burst = async (): Promise<void> => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => exec(id, `c${i}`, ['seq', String(LINES)])));
      for (const [i, r] of results.entries()) {
        expect(r.code, `exec c${i}: ${r.stderr}`).toBe(0);
        expect(r.stdout, `exec c${i}`).toBe(EXPECTED);
      }
    };
    await burst();
    for (let i = 0; i < 100; i++) {
      const r = await exec(id, `s${i}`, ['echo', `line-${i}`]);
      expect(r.stdout, `exec s${i}: ${r.stderr}`).toBe(`line-${i}\n`);
    }
    // Every id is free again: a phantom exec would answer AlreadyExists.
    await burst();
    for (const i of [0, 50, 99]) expect((await exec(id, `s${i}`, ['true'])).code).toBe(0);
    await env.cd.ctrOk(['task', 'kill', '-s', 'SIGKILL', id]);
    await env.cd.ctr(['task', 'delete', '--force', id], { timeoutMs: 60_000 });
    await env.cd.ctrOk(['container', 'delete', id]);
  }, 600_000);

  it('Creates and Updates racing on one pod: one VM, and every vCPU hotplugged into its own slot', async () => {
    const sb = `stress-pod-${process.pid}`;
    sandboxes.push(sb);
    const run = (id: string, type: 'sandbox' | 'container', cpus?: string) =>
      env.cd.ctr(['run', '-d', '--runtime', RUNTIME, ...podAnnotations(sb, type), ...(cpus ? ['--cpus', cpus] : []), env.image, id, 'sleep', '1000'], { timeoutMs: 180_000 });
    expect((await run(sb, 'sandbox')).code).toBe(0);
    const members = [1, 2, 3].map((n) => `${sb}-c${n}`);
    const results = await Promise.all([
      ...members.map((id) => run(id, 'container', '0.5')),
      updateTask(env.cd.address, 'default', sb, { cpu: { quota: 50_000, period: 100_000 } }, 240_000).then(() => ({ code: 0, stderr: '' })),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(qemuPids(sb)).toHaveLength(1);
    for (const id of members) expect(qemuPids(id)).toEqual([]);
    // default_vcpus 1 + four shares of 0.5 CPU = 3 vCPUs, each in its own slot (QEMU refuses a reused one).
    const nproc = await exec(sb, 'n1', ['nproc']);
    expect(nproc.stdout.trim()).toBe('3');
    expect(env.cd.logs()).not.toMatch(/Duplicate device ID|duplicate/i);
    for (const id of [...members, sb]) {
      await env.cd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
      await env.cd.ctr(['task', 'delete', '--force', id], { timeoutMs: 60_000 });
      await env.cd.ctr(['container', 'delete', id]);
    }
    expect(qemuPids(sb)).toEqual([]);
  }, 600_000);
});
