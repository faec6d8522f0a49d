// A shim daemon killed with SIGKILL: containerd notices the closed connection and runs
// our `delete` binary, which must release the VM, virtiofsd, mounts, state and socket.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerd as pb } from '../../src/gen/proto.js';
import { eventually, podAnnotations, startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';
import { leftovers, NOTHING_LEFT, qemuPids, shimDaemonPids } from './leftovers.js';

const ID = `e2e-crash-${process.pid}`;
const SB = `e2e-crash-sb-${process.pid}`;
const C2 = `e2e-crash-c2-${process.pid}`;
// A pod whose sandbox container is deleted before its shim dies.
const SB3 = `e2e-crash-sb3-${process.pid}`;
const C4 = `e2e-crash-c4-${process.pid}`;

/** Alive and not a zombie: the orphaned QEMU is reaped by pid 1, which may take a while. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('a SIGKILLed shim daemon', () => {
  let env: KataEnv;

  beforeAll(async () => {
    env = await startKataEnv();
  }, 120_000);

  afterAll(async () => {
    await env?.stop([ID, SB, SB3]);
  }, 120_000);

  it('leaves nothing behind once containerd cleaned up after it', async () => {
    const r = await env.cd.ctr(['run', '-d', '--runtime', RUNTIME, env.image, ID, 'sleep', '1000'], { timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    const bundle = join(env.cd.state, 'io.containerd.runtime.v2.task', 'default', ID);
    const shimPid = Number(readFileSync(join(bundle, 'shim.pid'), 'utf8'));
    expect(shimDaemonPids(ID)).toEqual([shimPid]);
    // The helper sees what a live sandbox holds, so an empty answer later means something.
    const live = leftovers(ID, env.cd.address);
    expect(live.qemu).toHaveLength(1);
    expect(live.virtiofsd.length).toBeGreaterThan(0);
    expect(live.mounts.length).toBeGreaterThan(0);
    expect(live.paths.length).toBe(4);
    const vm = qemuPids(ID);

    process.kill(shimPid, 'SIGKILL');

    // containerd runs `containerd-shim-kata-v2 delete` and reports the task as killed.
    const exit = await env.taskEvents.next((e) => e.topic === '/tasks/exit' && pb.events.TaskExit.decode(e.value).containerId === ID, 30_000);
    expect(pb.events.TaskExit.decode(exit.value).exitStatus).toBe(137);
    await eventually(() => JSON.stringify(leftovers(ID, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 15_000);
    expect(leftovers(ID, env.cd.address)).toEqual(NOTHING_LEFT);
    expect(vm.filter(running)).toEqual([]);

    // The task is gone (or deletable) and the container can be removed.
    await env.cd.ctr(['task', 'delete', ID], { timeoutMs: 30_000 });
    expect(await env.cd.ctrOk(['task', 'ls', '-q'])).not.toContain(ID);
    await env.cd.ctrOk(['container', 'delete', ID]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(ID);
  }, 150_000);

  it('of a pod: both tasks exit with 137 and the shared VM and share are released', async () => {
    for (const [id, type] of [[SB, 'sandbox'], [C2, 'container']] as const) {
      const r = await env.cd.ctr(['run', '-d', '--runtime', RUNTIME, ...podAnnotations(SB, type), env.image, id, 'sleep', '1000'], { timeoutMs: 90_000 });
      expect(r.code).toBe(0);
    }
    const [shimPid] = shimDaemonPids(SB);
    expect(shimPid).toBeGreaterThan(0);

    process.kill(shimPid!, 'SIGKILL');

    for (const id of [SB, C2]) {
      const exit = await env.taskEvents.next((e) => e.topic === '/tasks/exit' && pb.events.TaskExit.decode(e.value).containerId === id, 30_000);
      expect(pb.events.TaskExit.decode(exit.value).exitStatus).toBe(137);
    }
    await eventually(() => JSON.stringify(leftovers(SB, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 15_000);
    expect(leftovers(SB, env.cd.address)).toEqual(NOTHING_LEFT);
    expect(leftovers(C2, env.cd.address)).toEqual(NOTHING_LEFT);
    for (const id of [C2, SB]) {
      await env.cd.ctr(['task', 'delete', id], { timeoutMs: 30_000 });
      await env.cd.ctrOk(['container', 'delete', id]);
    }
    expect(await env.cd.ctrOk(['task', 'ls', '-q'])).toBe('');
  }, 150_000);

  it('of a pod whose sandbox container was deleted first: the remaining container\'s cleanup releases the VM', async () => {
    for (const [id, type] of [[SB3, 'sandbox'], [C4, 'container']] as const) {
      const r = await env.cd.ctr(['run', '-d', '--runtime', RUNTIME, ...podAnnotations(SB3, type), env.image, id, 'sleep', '1000'], { timeoutMs: 90_000 });
      expect(r.code).toBe(0);
    }
    const [shimPid] = shimDaemonPids(SB3);
    await env.cd.ctrOk(['task', 'kill', '-s', 'SIGKILL', SB3]);
    await env.taskEvents.next((e) => e.topic === '/tasks/exit' && pb.events.TaskExit.decode(e.value).containerId === SB3, 30_000);
    await env.cd.ctrOk(['task', 'delete', SB3], { timeoutMs: 60_000 });
    await env.cd.ctrOk(['container', 'delete', SB3]);
    expect(qemuPids(SB3)).toHaveLength(1);

    process.kill(shimPid!, 'SIGKILL');

    const exit = await env.taskEvents.next((e) => e.topic === '/tasks/exit' && pb.events.TaskExit.decode(e.value).containerId === C4, 30_000);
    expect(pb.events.TaskExit.decode(exit.value).exitStatus).toBe(137);
    await eventually(() => JSON.stringify(leftovers(SB3, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 15_000);
    expect(leftovers(SB3, env.cd.address)).toEqual(NOTHING_LEFT);
    await env.cd.ctr(['task', 'delete', C4], { timeoutMs: 30_000 });
    await env.cd.ctrOk(['container', 'delete', C4]);
  }, 150_000);
});
