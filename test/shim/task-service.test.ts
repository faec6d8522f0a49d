// containerd's contract, tested where it is defined: the real task service over ttrpc,
// the real Sandbox, a fake VM (no QEMU), a fake containerd Events service. Milliseconds each.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { containerd, io, type google } from '../../src/gen/proto.js';
import { containerd_task_v2_Task } from '../../src/gen/services.js';
import { createLogger } from '../../src/log/logger.js';
import type { ShimContext } from '../../src/shim/shim-context.js';
import { createTaskService } from '../../src/shim/task-service.js';
import { monitorSocketPath } from '../../src/shim/monitor-server.js';
import { getFromShim } from '../../src/shim/monitor-client.js';
import { parsePromText } from '../../src/metrics/prom-text.js';
import { TtrpcServer, connectUnix, serviceClient, type ServiceClient, type TtrpcClient } from '../../src/ttrpc/index.js';
import { FAKE_QEMU_TOML, FakeVmFactory, SLEEP_SPEC } from '../sandbox/fake-vm.js';
import { startFakeEvents, type FakeEvents } from './fake-events.js';

const CONFIG = FAKE_QEMU_TOML;
const NS = 'k8s.io';
const Status = containerd.v1.types.Status;
const log = createLogger({ level: 'silent' });

const SPEC = SLEEP_SPEC;

const jsonAny = (value: unknown): google.protobuf.IAny => ({
  type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
  value: Buffer.from(JSON.stringify(value)),
});

async function expectCode(p: Promise<unknown>, code: Code, message?: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected the call to fail').toBeInstanceOf(RuntimeError);
  expect(Code[(err as RuntimeError).code]).toBe(Code[code]);
  if (message) expect((err as Error).message).toMatch(message);
}

describe('task service over a fake VM', () => {
  let dir: string;
  let vms: FakeVmFactory;
  let events: FakeEvents;
  let server: TtrpcServer;
  let listener: net.Server;
  let client: TtrpcClient;
  let task: ServiceClient<typeof containerd_task_v2_Task>;
  let shutdownRequests: number;
  let dispose: () => Promise<void>;

  const bundle = (id: string, annotations?: Record<string, string>): string => {
    const b = join(dir, 'bundles', id);
    mkdirSync(join(b, 'rootfs'), { recursive: true });
    writeFileSync(join(b, 'config.json'), JSON.stringify({ ...SPEC, ...(annotations ? { annotations } : {}) }));
    return b;
  };
  const create = (id: string, annotations?: Record<string, string>) =>
    task.Create({ id, bundle: bundle(id, annotations), rootfs: [], stdin: '', stdout: '', stderr: '', terminal: false });
  const exec = (id: string, execId: string, stdout = '') =>
    task.Exec({ id, execId, terminal: false, stdin: '', stdout, stderr: '', spec: jsonAny({ args: ['sh', '-c', 'true'], cwd: '/', user: { uid: 0, gid: 0 } }) });
  const topics = (): string[] => events.delivered.items.map((c) => c.envelope.topic);
  /** Events arrive asynchronously: wait until `n` were delivered. */
  const delivered = (n: number): Promise<unknown> => events.delivered.next(() => events.delivered.items.length >= n, 5_000, `${n} events`);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'task-svc-'));
    vms = new FakeVmFactory();
    events = await startFakeEvents(dir);
    shutdownRequests = 0;
    const ctx: ShimContext = {
      flags: {} as ShimContext['flags'],
      bundle: dir,
      namespace: NS,
      id: 'sb',
      ttrpcAddress: events.path,
      log,
      requestShutdown: () => shutdownRequests++,
    };
    const service = createTaskService(ctx, {
      config: async () => parseConfig(CONFIG, '/test/configuration.toml', { cpus: 2, memoryMiB: 8192 }),
      sandbox: { boot: vms.boot, sharedRoot: join(dir, 'shared'), vmRoot: join(dir, 'vm'), stateRoot: join(dir, 'state'), outputDrainMs: 1_000 },
      cgroupMode: 'v1',
    });
    dispose = () => service.dispose!();
    server = new TtrpcServer({ log });
    server.register(containerd_task_v2_Task, service.handlers);
    listener = net.createServer();
    const sock = join(dir, 'shim.sock');
    await new Promise<void>((r) => listener.listen(sock, r));
    server.serve(listener);
    client = await connectUnix(sock);
    task = serviceClient(client, containerd_task_v2_Task);
  });

  afterEach(async () => {
    client.close();
    await server.close(100);
    await dispose();
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers NotFound for ids it does not know, before and after a container exists', async () => {
    await expectCode(task.State({ id: 'x' }), Code.NOT_FOUND);
    await expectCode(task.Start({ id: 'x' }), Code.NOT_FOUND);
    await expectCode(task.Wait({ id: 'x' }), Code.NOT_FOUND);
    await create('c1');
    await expectCode(task.State({ id: 'x' }), Code.NOT_FOUND, /container x: not found/);
    await expectCode(task.Kill({ id: 'c1', execId: 'nope', signal: 9 }), Code.NOT_FOUND, /exec nope of container c1: not found/);
    await expectCode(task.Delete({ id: 'c1', execId: 'nope' }), Code.NOT_FOUND);
    await expectCode(task.CloseIO({ id: 'c1', execId: 'nope', stdin: true }), Code.NOT_FOUND);
  });

  it('answers AlreadyExists for a second Create or Exec with the same id', async () => {
    await create('c1');
    await expectCode(create('c1'), Code.ALREADY_EXISTS);
    await task.Start({ id: 'c1' });
    await exec('c1', 'e1');
    await expectCode(exec('c1', 'e1'), Code.ALREADY_EXISTS, /exec e1 of container c1: already exists/);
  });

  it('publishes create, start, exec-added, exec-started, exit and delete in order, start before exit', async () => {
    await create('c1');
    await task.Start({ id: 'c1' });
    await exec('c1', 'e1');
    await task.Start({ id: 'c1', execId: 'e1' });
    vms.last.agent.process('c1', 'e1').end(0);
    expect((await task.Wait({ id: 'c1', execId: 'e1' })).exitStatus).toBe(0);
    await task.Delete({ id: 'c1', execId: 'e1' });
    await task.Kill({ id: 'c1', signal: 9 });
    expect((await task.Wait({ id: 'c1' })).exitStatus).toBe(137);
    await task.Delete({ id: 'c1' });
    await delivered(7);
    expect(topics()).toEqual(['/tasks/create', '/tasks/start', '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit', '/tasks/exit', '/tasks/delete']);
    const exit = containerd.events.TaskExit.decode(events.delivered.items[4]!.envelope.event!.value!);
    expect({ id: exit.id, status: exit.exitStatus }).toEqual({ id: 'e1', status: 0 });
  });

  it('leaves a created init alone for signal 0 and ends it for SIGKILL, without the guest', async () => {
    await create('c1');
    await task.Kill({ id: 'c1', signal: 0 });
    expect((await task.State({ id: 'c1' })).status).toBe(Status.CREATED);
    await task.Kill({ id: 'c1', signal: 9 });
    expect((await task.Wait({ id: 'c1' })).exitStatus).toBe(137);
    expect((await task.State({ id: 'c1' })).status).toBe(Status.STOPPED);
    expect(vms.last.agent.calls.some((c) => c.startsWith('SignalProcess'))).toBe(false);
  });

  it('closes stdin once the process runs when CloseIO came before Start, at once when after', async () => {
    await create('c1');
    await task.CloseIO({ id: 'c1', stdin: true });
    expect(vms.last.agent.calls.filter((c) => c.startsWith('CloseStdin'))).toEqual([]);
    await task.Start({ id: 'c1' });
    await exec('c1', 'e1');
    await task.Start({ id: 'c1', execId: 'e1' });
    await task.CloseIO({ id: 'c1', execId: 'e1', stdin: true });
    // Without a stdin FIFO the copy closes the guest's stdin as soon as it attaches (as Kata does).
    expect(vms.last.agent.process('c1').stdinClosed).toBe(true);
    expect(vms.last.agent.process('c1', 'e1').stdinClosed).toBe(true);
  });

  it('answers Wait on a created init when the VM dies under it', async () => {
    await create('c1');
    const wait = task.Wait({ id: 'c1' });
    vms.last.hypervisor.die('qemu killed by SIGKILL');
    expect((await wait).exitStatus).toBe(255);
    expect((await task.State({ id: 'c1' })).status).toBe(Status.STOPPED);
  });

  it('refuses to Delete a running task', async () => {
    await create('c1');
    await task.Start({ id: 'c1' });
    await expectCode(task.Delete({ id: 'c1' }), Code.FAILED_PRECONDITION, /cannot delete a running process/);
  });

  it('keeps serving on Shutdown while tasks are left, stops once they are gone', async () => {
    await create('c1');
    await task.Shutdown({ id: 'c1' });
    expect(shutdownRequests).toBe(0);
    await task.Kill({ id: 'c1', signal: 9 });
    await task.Wait({ id: 'c1' });
    await task.Delete({ id: 'c1' });
    await task.Shutdown({ id: 'c1' });
    expect(shutdownRequests).toBe(1);
    expect(vms.last.hypervisor.stopped).toBe(true);
  });

  it('registers nothing for an Exec whose stdio cannot be opened; the same id works next time', async () => {
    await create('c1');
    await task.Start({ id: 'c1' });
    await expect(exec('c1', 'e1', join(dir, 'no', 'such', 'fifo'))).rejects.toThrow();
    await expectCode(task.State({ id: 'c1', execId: 'e1' }), Code.NOT_FOUND);
    await exec('c1', 'e1');
    expect((await task.State({ id: 'c1', execId: 'e1' })).status).toBe(Status.CREATED);
  });

  it('answers Stats with containerd cgroup v1 metrics from the guest figures', async () => {
    await create('c1');
    await task.Start({ id: 'c1' });
    const { stats } = await task.Stats({ id: 'c1' });
    expect(stats?.type_url).toBe('io.containerd.cgroups.v1.Metrics');
    expect(io.containerd.cgroups.v1.Metrics.decode(stats!.value!).memory?.usage?.usage).toBe(4096);
  });

  it('serves /metrics on the management socket: task RPC latencies by action, the shim, the hypervisor, the guest', async () => {
    await create('c1');
    await task.Start({ id: 'c1' });
    await expectCode(task.ResizePty({ id: 'c1', execId: 'nope', width: 1, height: 1 }), Code.NOT_FOUND);
    const fams = parsePromText(await getFromShim(monitorSocketPath('c1', join(dir, 'state')), '/metrics'));
    const family = (name: string) => fams.find((f) => f.name === name);
    const count = (action: string): number | undefined =>
      family('kata_shim_rpc_durations_histogram_milliseconds')?.samples.find((x) => x.name.endsWith('_count') && x.labels.action === action)?.value;
    expect([count('create'), count('start'), count('resize_pty')]).toEqual([1, 1, 1]);
    expect(family('kata_shim_threads')!.samples[0]!.value).toBeGreaterThan(0);
    expect(family('kata_shim_fds')!.samples[0]!.value).toBeGreaterThan(0);
    expect(family('kata_guest_meminfo')!.samples[0]).toMatchObject({ labels: { item: 'mem_total' }, value: 536870912 });
    // The fake VM has no process of its own: the hypervisor's gauges are there, empty.
    expect(family('kata_hypervisor_threads')!.samples[0]!.value).toBe(0);
  });

  it('serves the pod a CRI sandbox belongs to on /sandbox-metadata; nothing CRI for a plain container', async () => {
    await create('sb1', {
      'io.kubernetes.cri.container-type': 'sandbox',
      'io.kubernetes.cri.sandbox-id': 'sb1',
      'io.kubernetes.cri.sandbox-uid': 'uid-1',
      'io.kubernetes.cri.sandbox-name': 'web',
      'io.kubernetes.cri.sandbox-namespace': 'shop',
    });
    const meta = JSON.parse(await getFromShim(monitorSocketPath('sb1', join(dir, 'state')), '/sandbox-metadata'));
    expect(meta).toEqual({ sandboxId: 'sb1', cri: { uid: 'uid-1', name: 'web', namespace: 'shop' } });
  });

  it('a plain container has no CRI pod; the socket goes with the last container', async () => {
    await create('c1');
    const path = monitorSocketPath('c1', join(dir, 'state'));
    expect(JSON.parse(await getFromShim(path, '/sandbox-metadata'))).toEqual({ sandboxId: 'c1' });
    await task.Kill({ id: 'c1', signal: 9 });
    await task.Wait({ id: 'c1' });
    await task.Delete({ id: 'c1' });
    await expect(getFromShim(path, '/metrics')).rejects.toThrow(/no running sandbox/);
  });
});
