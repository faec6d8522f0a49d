// Faults through a real containerd and real QEMU: the VM killed, terminated, frozen; its
// virtiofsd killed; its guest paused so the agent stops answering; containerd killed in
// the middle of a Create; a container that runs out of memory. Every case must end in
// task exits containerd sees, a clean delete, and nothing left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_EVENT_TYPES, isTaskTopic } from '../../src/shim/events/index.js';
import { QmpClient } from '../../src/hypervisor/qemu/qmp-client.js';
import type { ObservedEvent } from '../support/containerd-events.js';
import { eventually, startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';
import { leftovers, NOTHING_LEFT, qemuPids } from './leftovers.js';
import { processAlive } from '../support/processes.js';

const pidsOf = (lines: string[]): number[] => lines.map((l) => Number(l.trim().split(/\s+/)[0]));

/** The container id a task event is about. */
function containerOf(e: ObservedEvent): string | undefined {
  if (!isTaskTopic(e.topic)) return undefined;
  return (TASK_EVENT_TYPES[e.topic].decode(e.value) as { containerId?: string }).containerId;
}

describe('faults through containerd', () => {
  let env: KataEnv;
  const ids: string[] = [];
  let seq = 0;
  const uniqueId = (tag: string): string => {
    const id = `fault-${tag}-${process.pid}-${++seq}`;
    ids.push(id);
    return id;
  };

  const runDetached = async (id: string, args: string[] = ['sleep', '1000'], flags: string[] = []): Promise<void> => {
    await env.cd.ctrOk(['run', '-d', '--runtime', RUNTIME, ...flags, env.image, id, ...args], { timeoutMs: 120_000 });
  };
  const taskStatus = async (id: string): Promise<string | undefined> => {
    const line = (await env.cd.ctrOk(['task', 'ls'])).split('\n').find((l) => l.startsWith(`${id} `));
    return line?.trim().split(/\s+/)[2];
  };
  const topicsOf = (id: string): string[] => env.taskEvents.log.items.filter((e) => containerOf(e) === id).map((e) => e.topic);
  /** Deletes the task and the container, then nothing of the sandbox may be left. */
  const removeAndAudit = async (id: string): Promise<void> => {
    await env.cd.ctrOk(['task', 'delete', '--force', id], { timeoutMs: 30_000 });
    await env.cd.ctrOk(['container', 'delete', id]);
    await eventually(() => JSON.stringify(leftovers(id, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 15_000);
    expect(leftovers(id, env.cd.address)).toEqual(NOTHING_LEFT);
  };

  beforeAll(async () => {
    // The extra QMP socket lets a test pause the guest while the shim's own QMP connection stays.
    env = await startKataEnv({ qemuExtra: 'extra_monitor_socket = "qmp"' });
  }, 120_000);

  afterAll(async () => {
    await env?.stop(ids);
  }, 180_000);

  it('publishes a normal run in order: create, start, exec-added, exec-started, exit, exit, delete', async () => {
    const id = uniqueId('order');
    await runDetached(id);
    expect((await env.cd.ctr(['task', 'exec', '--exec-id', 'e1', id, 'true'], { timeoutMs: 60_000 })).code).toBe(0);
    await env.cd.ctrOk(['task', 'kill', '-s', 'SIGKILL', id]);
    await env.taskEvents.next((e) => e.topic === '/tasks/exit' && containerOf(e) === id && topicsOf(id).filter((t) => t === '/tasks/exit').length === 2, 30_000);
    await removeAndAudit(id);
    await env.taskEvents.next((e) => e.topic === '/tasks/delete' && containerOf(e) === id, 10_000);
    expect(topicsOf(id)).toEqual(['/tasks/create', '/tasks/start', '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit', '/tasks/exit', '/tasks/delete']);
  }, 180_000);

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal} to QEMU: the task stops within 2 s with an exit event, and deletes cleanly`, async () => {
      const id = uniqueId(signal.toLowerCase());
      await runDetached(id);
      const [qemu] = qemuPids(id);
      process.kill(qemu!, signal);
      expect(await eventually(async () => (await taskStatus(id)) === 'STOPPED', 2_000, 50)).toBe(true);
      await env.taskEvents.next((e) => e.topic === '/tasks/exit' && containerOf(e) === id, 5_000);
      await removeAndAudit(id);
    }, 180_000);
  }

  it('SIGSTOP to QEMU: kill and delete finish within 15 s and no QEMU is left', async () => {
    const id = uniqueId('sigstop');
    await runDetached(id);
    const [qemu] = qemuPids(id);
    process.kill(qemu!, 'SIGSTOP');
    // One budget for both: the commands' own timeouts add up to 15 s.
    const kill = await env.cd.ctr(['task', 'kill', '-s', 'SIGKILL', id], { timeoutMs: 10_000 });
    expect(kill.timedOut).toBe(false);
    const del = await env.cd.ctr(['task', 'delete', '--force', id], { timeoutMs: 5_000 });
    expect(del.timedOut).toBe(false);
    expect(del.code).toBe(0);
    expect(processAlive(qemu!)).toBe(false);
    await env.cd.ctrOk(['container', 'delete', id]);
    expect(await eventually(() => JSON.stringify(leftovers(id, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 15_000)).toBe(true);
  }, 180_000);

  it('SIGKILL to virtiofsd: the sandbox fails, its task stops, and it deletes cleanly', async () => {
    const id = uniqueId('virtiofsd');
    await runDetached(id);
    const fsd = pidsOf(leftovers(id, env.cd.address).virtiofsd);
    expect(fsd.length).toBeGreaterThan(0);
    for (const pid of fsd) process.kill(pid, 'SIGKILL');
    expect(await eventually(async () => (await taskStatus(id)) === 'STOPPED', 15_000)).toBe(true);
    await env.taskEvents.next((e) => e.topic === '/tasks/exit' && containerOf(e) === id, 5_000);
    expect(qemuPids(id)).toEqual([]);
    await removeAndAudit(id);
  }, 180_000);

  it('a guest that stops answering (vCPUs paused): the health check stops the task with a reason', async () => {
    const id = uniqueId('hung');
    await runDetached(id);
    const monitor = await QmpClient.connect(`/run/vc/vm/${id}/extra-monitor.sock`, { timeoutMs: 10_000 });
    try {
      await monitor.execute('stop');
    } finally {
      monitor.close();
    }
    expect(await eventually(async () => (await taskStatus(id)) === 'STOPPED', 90_000, 500)).toBe(true);
    await env.taskEvents.next((e) => e.topic === '/tasks/exit' && containerOf(e) === id, 5_000);
    await removeAndAudit(id);
  }, 240_000);

  it('a container over its memory limit: /tasks/oom comes before /tasks/exit, which says 137', async () => {
    const id = uniqueId('oom');
    await runDetached(id, ['sh', '-c', 'tail /dev/zero'], ['--memory-limit', String(64 * 1024 * 1024)]);
    const exit = await env.taskEvents.next((e) => e.topic === '/tasks/exit' && containerOf(e) === id, 120_000);
    const topics = topicsOf(id);
    expect(topics).toContain('/tasks/oom');
    expect(topics.indexOf('/tasks/oom')).toBeLessThan(topics.indexOf('/tasks/exit'));
    expect(TASK_EVENT_TYPES['/tasks/exit'].decode(exit.value).exitStatus).toBe(137);
    await removeAndAudit(id);
  }, 240_000);

  it('containerd killed between the VM boot and the Create reply, then restarted: nothing leaks', async () => {
    const id = uniqueId('restart');
    const run = env.cd.spawnCtr(['run', '-d', '--runtime', RUNTIME, env.image, id, 'sleep', '1000']);
    // The VM is up but the agent (and so Create) takes seconds more under TCG.
    expect(await eventually(() => qemuPids(id).length > 0, 60_000, 20)).toBe(true);
    await env.cd.restart();
    // ctr lost its server mid-call ("transport is closing") and does not exit by itself.
    run.kill('SIGKILL');
    // The new containerd loaded the live shim: the task the Create made exists (created, not started).
    expect(await eventually(async () => ['CREATED', 'RUNNING'].includes((await taskStatus(id)) ?? ''), 30_000, 200)).toBe(true);
    await env.cd.ctrOk(['task', 'delete', '--force', id], { timeoutMs: 60_000 });
    await env.cd.ctrOk(['container', 'delete', id], { timeoutMs: 30_000 });
    expect(await eventually(() => JSON.stringify(leftovers(id, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 30_000)).toBe(true);
    expect(leftovers(id, env.cd.address)).toEqual(NOTHING_LEFT);
  }, 240_000);
});
