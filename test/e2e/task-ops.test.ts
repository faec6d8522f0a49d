// One detached container (one VM) driven through containerd 1.6's ctr and gRPC API:
// exec with and without a terminal, ps, metrics, pause/resume, update, kill, delete.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { runCommand } from '../support/run-command.js';
import { containerd as pb } from '../../src/gen/proto.js';
import { eventually, startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';
import { leftovers, NOTHING_LEFT, qemuPids, shimDaemonPids } from './leftovers.js';
import { updateTask } from './tasks-client.js';

const ID = `e2e-ops-${process.pid}`;
// sh as pid 1 ignores SIGTERM unless it traps it: the trap makes SIGTERM end the task.
const MAIN = ['sh', '-c', 'trap "exit 143" TERM; while :; do sleep 1; done'];

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function taskStatus(ls: string, id: string): string | undefined {
  const line = ls.split('\n').find((l) => l.split(/\s+/)[0] === id);
  return line?.trim().split(/\s+/)[2];
}

/** ctr's JSON rendering of io.containerd.cgroups.v1.Metrics (snake_case, zero fields left out). */
interface MetricsJson {
  pids?: { current?: number };
  cpu?: { usage?: { total?: number } };
  memory?: { usage?: { usage?: number; limit?: number } };
}

function memTotalKiB(meminfo: string): number {
  return Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? NaN);
}

describe('task operations on a detached kata container', () => {
  let env: KataEnv;

  const exec = (execId: string, script: string) =>
    env.cd.ctr(['task', 'exec', '--exec-id', execId, ID, 'sh', '-c', script], { timeoutMs: 60_000 });
  const status = async (): Promise<string | undefined> => taskStatus(await env.cd.ctrOk(['task', 'ls']), ID);

  beforeAll(async () => {
    env = await startKataEnv();
  }, 120_000);

  afterAll(async () => {
    await env?.stop([ID]);
  }, 120_000);

  it('ctr run -d returns while the container keeps running in its VM', async () => {
    const r = await env.cd.ctr(['run', '-d', '--runtime', RUNTIME, env.image, ID, ...MAIN], { timeoutMs: 90_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await status()).toBe('RUNNING');
    expect(qemuPids(ID)).toHaveLength(1);
    expect(shimDaemonPids(ID)).toHaveLength(1);
  }, 120_000);

  it('exec without a terminal: output and exit code come back', async () => {
    const r = await exec('e1', 'echo hi; echo err >&2; exit 4');
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toBe('err\n');
    expect(r.code).toBe(4);
  }, 90_000);

  it('exec with a terminal (ctr under script for a tty): output arrives through the pty', async () => {
    const ctr = ['ctr', '--address', env.cd.address, '-n', 'default', 'task', 'exec', '-t', '--exec-id', 'e2', ID, 'sh', '-c', 'tty; echo tty-ok; exit 5'];
    const r = await runCommand('script', ['-qec', ctr.map(quote).join(' '), '/dev/null'], { timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r*\n/);
    expect(r.stdout).toContain('tty-ok');
    expect(r.code).toBe(5);
  }, 90_000);

  it('ctr task ps lists the VM pid', async () => {
    const out = await env.cd.ctrOk(['task', 'ps', ID]);
    const pids = out.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((p) => p > 0);
    expect(pids).toEqual(qemuPids(ID));
  }, 30_000);

  it('ctr task metrics decodes the guest cgroup v1 metrics', async () => {
    const out = await env.cd.ctrOk(['task', 'metrics', ID]);
    expect(out).toMatch(/memory\.usage_in_bytes\s+[1-9]\d*/);
    expect(out).toMatch(/pids\.current\s+[1-9]\d*/);
    const json = JSON.parse(await env.cd.ctrOk(['task', 'metrics', '--format', 'json', ID])) as MetricsJson;
    expect(json.pids?.current).toBeGreaterThan(0);
    expect(json.cpu?.usage?.total).toBeGreaterThan(0);
  }, 30_000);

  it('pause and resume: ctr task ls shows PAUSED then RUNNING, with /tasks/paused and /tasks/resumed', async () => {
    await env.cd.ctrOk(['task', 'pause', ID]);
    expect(await status()).toBe('PAUSED');
    await env.taskEvents.next((e) => e.topic === '/tasks/paused' && pb.events.TaskPaused.decode(e.value).containerId === ID, 10_000);
    await env.cd.ctrOk(['task', 'resume', ID]);
    expect(await status()).toBe('RUNNING');
    await env.taskEvents.next((e) => e.topic === '/tasks/resumed' && pb.events.TaskResumed.decode(e.value).containerId === ID, 10_000);
    const r = await exec('e3', 'echo alive');
    expect(r.stdout).toBe('alive\n');
  }, 90_000);

  it('Tasks.Update through containerd sets the memory limit and hotplugs VM memory', async () => {
    const before = memTotalKiB((await exec('m1', 'cat /proc/meminfo')).stdout);
    await updateTask(env.cd.address, 'default', ID, { memory: { limit: 268_435_456 } });
    // ctr's default spec gives the container no cgroup files of its own: the guest's
    // cgroup limit comes back through Stats (runc's memory.max as the v1 usage limit).
    const metrics = JSON.parse(await env.cd.ctrOk(['task', 'metrics', '--format', 'json', ID])) as MetricsJson;
    const after = memTotalKiB((await exec('m3', 'cat /proc/meminfo')).stdout);
    expect(metrics.memory?.usage?.limit).toBe(268_435_456);
    expect(after - before).toBeGreaterThanOrEqual(200 * 1024);
  }, 120_000);

  it('SIGKILL to an exec ends it with 137', async () => {
    const r = await env.cd.ctr(['task', 'exec', '-d', '--exec-id', 'k1', ID, 'sleep', '1000'], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    await env.cd.ctrOk(['task', 'kill', '-s', 'SIGKILL', '--exec-id', 'k1', ID]);
    const exit = await env.taskEvents.next((e) => {
      if (e.topic !== '/tasks/exit') return false;
      const x = pb.events.TaskExit.decode(e.value);
      return x.containerId === ID && x.id === 'k1';
    }, 15_000);
    expect(pb.events.TaskExit.decode(exit.value).exitStatus).toBe(137);
  }, 60_000);

  it('SIGTERM stops the task: ctr task ls shows STOPPED and the exit status is 143', async () => {
    await env.cd.ctrOk(['task', 'kill', '-s', 'SIGTERM', ID]);
    const exit = await env.taskEvents.next((e) => {
      if (e.topic !== '/tasks/exit') return false;
      const x = pb.events.TaskExit.decode(e.value);
      return x.containerId === ID && x.id === ID;
    }, 20_000);
    expect(pb.events.TaskExit.decode(exit.value).exitStatus).toBe(143);
    expect(await status()).toBe('STOPPED');
  }, 60_000);

  it('task delete + container delete leave nothing behind', async () => {
    await env.cd.ctrOk(['task', 'delete', ID], { timeoutMs: 60_000 });
    const deleted = await env.taskEvents.next((e) => e.topic === '/tasks/delete' && pb.events.TaskDelete.decode(e.value).containerId === ID, 10_000);
    expect(pb.events.TaskDelete.decode(deleted.value).exitStatus).toBe(143);
    await env.cd.ctrOk(['container', 'delete', ID]);
    expect(await env.cd.ctrOk(['task', 'ls', '-q'])).not.toContain(ID);
    expect(await env.cd.ctrOk(['container', 'ls', '-q'])).not.toContain(ID);
    await eventually(() => JSON.stringify(leftovers(ID, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 10_000);
    expect(leftovers(ID, env.cd.address)).toEqual(NOTHING_LEFT);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(ID);
  }, 90_000);
});
