// OOM events from the guest agent in test mode on this host (runc 1.1.5, cgroup v1 under
// --cgroup-parent), driven over one ttrpc connection as the host shim does: it keeps
// GetOOMEvent polls outstanding and must publish /tasks/oom before /tasks/exit.
// Here the events come from runc events (v1 has no count that survives runc); the
// cgroup v2 path, where the count in the agent's cgroup decides, is oom-monitor.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processToGrpc } from '../../src/oci/grpc-spec.js';
import { cgroupMounts } from '../../src/guest/cgroup-parent.js';
import { grpcSpec, makeBusyboxRootfs, ociProcess } from './busybox-bundle.js';
import { startHarness, type Harness } from './agent-harness.js';

const LIMITED = { linux: { resources: { memory: { limit: 16 << 20, swap: 16 << 20 } } } };
/**
 * A shell that keeps 64 MB of text in a variable: over the 16 MiB limit, the kernel kills it.
 * It starts after a second: on this cgroup v1 host the event comes only from `runc events`,
 * which a kill within its first milliseconds beats (the guest's v2 count has no such race).
 */
const HOG = ['sh', '-c', "sleep 1; x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo ${#x}"];

describe('guest agent: OOM events', () => {
  let h: Harness;
  let rootfs: string;

  beforeAll(async () => {
    h = await startHarness();
    rootfs = makeBusyboxRootfs(join(h.dir, 'rootfs'));
    await h.agent.CreateSandbox({ hostname: 'ignored-in-test-mode', sandboxId: 'sb-oom' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const run = async (id: string, args: string[]): Promise<void> => {
    await h.agent.CreateContainer({ containerId: id, execId: id, OCI: grpcSpec(rootfs, args, LIMITED) });
    await h.agent.StartContainer({ containerId: id });
  };

  /** The container's cgroup directories that exist, in every hierarchy (`leaf`: runc's inside it). */
  const cgroupDirs = async (id: string, leaf = ''): Promise<string[]> =>
    (await cgroupMounts()).map((m) => join(m, h.cgroupParent, id, leaf)).filter((d) => existsSync(d));

  /** `p`, noting in `order` when it settles. */
  const noted = <T>(order: string[], name: string, p: Promise<T>): Promise<T> =>
    p.then((v) => {
      order.push(name);
      return v;
    });

  it('reports an OOM kill of an exec through GetOOMEvent', async () => {
    const oom = h.agent.GetOOMEvent({});
    await run('c-exec', ['sleep', '1000']);
    await h.agent.ExecProcess({ containerId: 'c-exec', execId: 'hog', process: processToGrpc(ociProcess(HOG)) });
    expect((await h.agent.WaitProcess({ containerId: 'c-exec', execId: 'hog' })).status).toBe(137);
    expect((await oom).containerId).toBe('c-exec');
    await h.agent.RemoveContainer({ containerId: 'c-exec' });
  });

  it('answers an outstanding GetOOMEvent before WaitProcess for an init the OOM killer killed', async () => {
    const order: string[] = [];
    // Two polls outstanding, as a host keeps them: one event goes to exactly one.
    const first = noted(order, 'oom', h.agent.GetOOMEvent({}));
    const second = noted(order, 'second oom', h.agent.GetOOMEvent({}));
    await run('c-init', HOG);
    const exit = noted(order, 'exit', h.agent.WaitProcess({ containerId: 'c-init', execId: 'c-init' }));
    expect((await exit).status).toBe(137);
    expect((await first).containerId).toBe('c-init');
    expect(order).toEqual(['oom', 'exit']);

    // runc removed its own cgroup when the init exited; the container's stays until RemoveContainer.
    expect(await cgroupDirs('c-init', 'runc')).toEqual([]);
    expect((await cgroupDirs('c-init')).length).toBeGreaterThan(0);
    await h.agent.RemoveContainer({ containerId: 'c-init' });
    expect(await cgroupDirs('c-init')).toEqual([]);

    // The second poll is still there and takes the next OOM, of another container.
    await run('c-init-2', HOG);
    const exit2 = noted(order, 'exit 2', h.agent.WaitProcess({ containerId: 'c-init-2', execId: '' }));
    expect((await second).containerId).toBe('c-init-2');
    expect((await exit2).status).toBe(137);
    expect(order).toEqual(['oom', 'exit', 'second oom', 'exit 2']);
    await h.agent.RemoveContainer({ containerId: 'c-init-2' });
  });

  it('keeps an OOM nobody polled for until the next poll', async () => {
    await run('c-unpolled', HOG);
    expect((await h.agent.WaitProcess({ containerId: 'c-unpolled', execId: '' })).status).toBe(137);
    expect((await h.agent.GetOOMEvent({})).containerId).toBe('c-unpolled');
    await h.agent.RemoveContainer({ containerId: 'c-unpolled' });
  });

  it('answers WaitProcess for an init that exits normally without waiting for long', { timeout: 5_000 }, async () => {
    await run('c-quick', ['true']);
    // Bounded by runc events ending (runc removes the cgroup) or, at worst, the 2 s grace:
    // this test's timeout fails it if WaitProcess waited for more.
    expect((await h.agent.WaitProcess({ containerId: 'c-quick', execId: '' })).status).toBe(0);
    await h.agent.RemoveContainer({ containerId: 'c-quick' });
  });
});
