// Two containers of one pod (CRI's sandbox annotations, set through ctr) share one VM and
// one shim; deleting the pod container first and then the sandbox leaves nothing behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { eventually, podAnnotations, startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';
import { leftovers, NOTHING_LEFT, qemuPids, shimDaemonPids } from './leftovers.js';

const SB = `e2e-pod-sb-${process.pid}`;
const C2 = `e2e-pod-c2-${process.pid}`;
// A second pod, deleted in the other order (sandbox container first).
const SB2 = `e2e-pod-sb2-${process.pid}`;
const C3 = `e2e-pod-c3-${process.pid}`;

describe('a pod of two containers in one VM', () => {
  let env: KataEnv;

  const runDetached = (id: string, type: 'sandbox' | 'container', sandboxId = SB) =>
    env.cd.ctr(
      ['run', '-d', '--runtime', RUNTIME, ...podAnnotations(sandboxId, type), env.image, id, 'sleep', '1000'],
      { timeoutMs: 90_000 },
    );
  /** containerd logged that it ran our `delete` for `id` after the task's connection closed. */
  const cleanedUpAfter = (id: string): boolean => new RegExp(`cleaning up after shim disconnected.*id=${id}\\b`).test(env.cd.logs());
  const stopAndDelete = async (id: string): Promise<void> => {
    await env.cd.ctrOk(['task', 'kill', '-s', 'SIGKILL', id]);
    const stopped = await eventually(async () => (await env.cd.ctrOk(['task', 'ls'])).split('\n').some((l) => l.startsWith(id) && l.includes('STOPPED')));
    expect(stopped).toBe(true);
    await env.cd.ctrOk(['task', 'delete', id], { timeoutMs: 60_000 });
    await env.cd.ctrOk(['container', 'delete', id]);
  };

  beforeAll(async () => {
    env = await startKataEnv();
  }, 120_000);

  afterAll(async () => {
    await env?.stop([SB, SB2]);
  }, 120_000);

  it('the sandbox container boots the VM; the pod container joins its shim', async () => {
    const sb = await runDetached(SB, 'sandbox');
    expect(sb.stderr).toBe('');
    expect(sb.code).toBe(0);
    const c2 = await runDetached(C2, 'container');
    expect(c2.stderr).toBe('');
    expect(c2.code).toBe(0);
    expect(qemuPids(SB)).toHaveLength(1);
    expect(qemuPids(C2)).toEqual([]);
    expect(shimDaemonPids(SB)).toHaveLength(1);
    expect(shimDaemonPids(C2)).toEqual([]);
    // The helper sees what a live pod holds, so an empty answer later means something.
    const live = leftovers(SB, env.cd.address);
    expect(live.virtiofsd.length).toBeGreaterThan(0);
    expect(live.mounts.some((m) => m.includes(C2))).toBe(true);
    expect(live.paths).toHaveLength(4);
    const ls = await env.cd.ctrOk(['task', 'ls']);
    for (const id of [SB, C2]) expect(ls).toMatch(new RegExp(`^${id}\\s+${qemuPids(SB)[0]}\\s+RUNNING`, 'm'));
  }, 180_000);

  it('exec in the pod container runs in the shared VM', async () => {
    const r = await env.cd.ctr(['task', 'exec', '--exec-id', 'x1', C2, 'sh', '-c', 'echo from-c2; hostname'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('from-c2');
  }, 90_000);

  it('deleting the pod container keeps the VM and shim serving the sandbox', async () => {
    const vm = qemuPids(SB);
    const shim = shimDaemonPids(SB);
    await stopAndDelete(C2);
    // containerd's Shutdown for the pod container, and the `delete` it runs once that
    // connection closed, must not stop the shared shim. `task delete` returns only after
    // both; a later exec served by the same shim and VM shows they kept running past them.
    expect(cleanedUpAfter(C2)).toBe(true);
    const r = await env.cd.ctr(['task', 'exec', '--exec-id', 'x2', SB, 'echo', 'sandbox-alive'], { timeoutMs: 60_000 });
    expect(r.stdout).toBe('sandbox-alive\n');
    expect(qemuPids(SB)).toEqual(vm);
    expect(shimDaemonPids(SB)).toEqual(shim);
  }, 90_000);

  it('deleting the sandbox then leaves no QEMU, virtiofsd, shim, mount, socket or state dir', async () => {
    await stopAndDelete(SB);
    const clean = () => JSON.stringify([leftovers(SB, env.cd.address), leftovers(C2, env.cd.address)]) === JSON.stringify([NOTHING_LEFT, NOTHING_LEFT]);
    await eventually(clean, 10_000);
    expect(leftovers(SB, env.cd.address)).toEqual(NOTHING_LEFT);
    expect(leftovers(C2, env.cd.address)).toEqual(NOTHING_LEFT);
    expect(await env.cd.ctrOk(['container', 'ls', '-q'])).toBe('');
  }, 90_000);

  it('deleting the sandbox container first keeps the VM for the pod container, until it goes too', async () => {
    expect((await runDetached(SB2, 'sandbox', SB2)).code).toBe(0);
    expect((await runDetached(C3, 'container', SB2)).code).toBe(0);
    const vm = qemuPids(SB2);
    expect(vm).toHaveLength(1);
    await stopAndDelete(SB2);
    // containerd runs our `delete` for SB2 once its connection closes (and waits for it
    // before `task delete` returns): the shim still serves C3, so that cleanup must leave
    // the VM and the share alone. A later exec in C3 needs both.
    expect(cleanedUpAfter(SB2)).toBe(true);
    const r = await env.cd.ctr(['task', 'exec', '--exec-id', 'x3', C3, 'echo', 'c3-alive'], { timeoutMs: 60_000 });
    expect(r.stdout).toBe('c3-alive\n');
    expect(qemuPids(SB2)).toEqual(vm);
    await stopAndDelete(C3);
    await eventually(() => JSON.stringify(leftovers(SB2, env.cd.address)) === JSON.stringify(NOTHING_LEFT), 10_000);
    expect(leftovers(SB2, env.cd.address)).toEqual(NOTHING_LEFT);
  }, 150_000);
});
