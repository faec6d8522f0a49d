// The Sandbox through its boot seam (a fake VM, real mounts in a temp dir): one VM per
// sandbox however Creates race, resizes one at a time, process states, exits reported
// once with their output, OOM before exit, a dead or hung VM turned into exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { createLogger } from '../../src/log/logger.js';
import type { Spec } from '../../src/oci/runtime-spec.js';
import { isStoppedState, processState } from '../../src/hypervisor/proc-stat.js';
import type { HealthOptions } from '../../src/sandbox/health.js';
import { Sandbox, type SandboxEvent } from '../../src/sandbox/sandbox.js';
import { FakeVmFactory, MemoryStdio } from './fake-vm.js';

const CONFIG = `
[hypervisor.qemu]
path = "/usr/bin/qemu-system-x86_64"
kernel = "/nonexistent/vmlinux"
initrd = "/nonexistent/initrd"
default_vcpus = 1
default_maxvcpus = 8
default_memory = 512
`;
const log = createLogger({ level: 'silent' });
const MiB = 1024 * 1024;

const spec = (resources?: { quota?: number; period?: number; memory?: number }): Spec => ({
  ociVersion: '1.0.2',
  process: { args: ['sleep', '1000'], cwd: '/', user: { uid: 0, gid: 0 } },
  root: { path: 'rootfs' },
  linux: {
    namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
    resources: resources ? { cpu: { quota: resources.quota, period: resources.period }, memory: { limit: resources.memory } } : {},
  },
});
const STDIO = { stdin: '', stdout: '', stderr: '', terminal: false };

const expectCode = async (p: Promise<unknown>, code: Code, message?: RegExp): Promise<void> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RuntimeError);
  expect((err as RuntimeError).codeName).toBe(Code[code]);
  if (message) expect((err as Error).message).toMatch(message);
};

describe('Sandbox', () => {
  let dir: string;
  let vms: FakeVmFactory;
  let events: SandboxEvent[];
  let sandbox: Sandbox;
  const children: ChildProcess[] = [];

  const make = (o: { health?: HealthOptions; callTimeoutMs?: number } = {}): Sandbox =>
    new Sandbox({
      id: `sb-${process.pid}`,
      config: parseConfig(CONFIG, '/test/configuration.toml', { cpus: 2, memoryMiB: 8192 }),
      log,
      onEvent: (e) => events.push(e),
      boot: vms.boot,
      sharedRoot: join(dir, 'shared'),
      vmRoot: join(dir, 'vm'),
      stateRoot: join(dir, 'state'),
      outputDrainMs: 2_000,
      ...o,
    });

  const bundle = (id: string): string => {
    const b = join(dir, 'bundles', id);
    mkdirSync(join(b, 'rootfs'), { recursive: true });
    return b;
  };

  const create = (id: string, s = spec(), io = new MemoryStdio()): Promise<void> =>
    sandbox.createContainer({ id, bundle: bundle(id), spec: s, rootfs: [], stdio: STDIO, io });

  const types = (): string[] => events.map((e) => `${e.type} ${'containerId' in e ? e.containerId : ''}${'execId' in e && e.execId ? `/${e.execId}` : ''}`);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
    vms = new FakeVmFactory();
    events = [];
    sandbox = make();
  });

  afterEach(async () => {
    await sandbox.stop();
    for (const c of children.splice(0)) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('boots one VM however many first Creates race, and resizes it for each container', async () => {
    let release!: () => void;
    vms.gate = new Promise((r) => (release = r));
    const creates = [create('a', spec({ quota: 50_000, period: 100_000 })), create('b', spec({ quota: 50_000, period: 100_000 })), create('c')];
    // The boot is held: every Create waits behind the first, none boots a VM of its own.
    await new Promise((r) => setImmediate(r));
    release();
    await Promise.all(creates);
    expect(vms.vms).toHaveLength(1);
    expect(sandbox.containerCount).toBe(3);
    // 1 default + two containers of 0.5 CPU = 2 vCPUs.
    expect(vms.last.hypervisor.vcpus).toBe(2);
    expect(types()).toEqual(['created a', 'created b', 'created c']);
  });

  it('runs concurrent Updates one at a time: no two hotplugs at once, no slot twice', async () => {
    await create('a');
    await sandbox.start('a');
    const updates = [1, 2, 3, 4].map((n) => sandbox.update('a', { cpu: { quota: n * 100_000, period: 100_000 }, memory: { limit: n * 128 * MiB } }));
    await Promise.all(updates);
    const h = vms.last.hypervisor;
    expect(h.overlaps).toBe(0);
    expect(new Set(h.slots).size).toBe(h.slots.length);
    expect(h.vcpus).toBe(5);
    expect(h.memoryMiB).toBe(512 + 512);
  });

  it('refuses a second container with the same id, a delete of a running one, unknown ids', async () => {
    await create('a');
    await expectCode(create('a'), Code.ALREADY_EXISTS, /container a: already exists/);
    await sandbox.start('a');
    await expectCode(sandbox.delete('a'), Code.FAILED_PRECONDITION, /cannot delete a running process/);
    await expectCode(sandbox.start('nope'), Code.NOT_FOUND, /container nope: not found/);
    await expectCode(sandbox.kill('a', 'nope', 9), Code.NOT_FOUND, /exec nope of container a: not found/);
  });

  it('reports start before exit, and the exit only once the output is out', async () => {
    const io = new MemoryStdio();
    await create('a', spec(), io);
    await sandbox.start('a');
    const p = vms.last.agent.process('a');
    p.stdout.push('hello\n');
    p.end(3);
    const exit = await sandbox.wait('a');
    expect(exit.exitStatus).toBe(3);
    expect(io.stdout).toBe('hello\n');
    expect(types()).toEqual(['created a', 'started a', 'exited a']);
    expect(sandbox.process('a').state.kind).toBe('stopped');
  });

  it('kills a created init: signal 0 does nothing, SIGKILL ends it with 137 without the guest', async () => {
    await create('a');
    await sandbox.kill('a', '', 0);
    expect(sandbox.process('a').state.kind).toBe('created');
    await sandbox.kill('a', '', 9);
    expect((await sandbox.wait('a')).exitStatus).toBe(137);
    expect(vms.last.agent.calls.filter((c) => c.startsWith('SignalProcess'))).toEqual([]);
  });

  it('applies a CloseIO that came before Start once the process runs', async () => {
    const io = new MemoryStdio();
    await create('a', spec(), io);
    await sandbox.closeStdin('a', '');
    expect(io.closeStdinCalls).toBe(0);
    await sandbox.start('a');
    await new Promise((r) => setImmediate(r));
    expect(io.closeStdinCalls).toBe(1);
    expect(vms.last.agent.process('a').stdinClosed).toBe(true);
  });

  it('registers nothing for an exec it refuses, and an exec id can be reused after delete', async () => {
    await create('a');
    await sandbox.start('a');
    sandbox.exec('a', 'e1', { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }, STDIO, new MemoryStdio());
    expect(() => sandbox.exec('a', 'e1', { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }, STDIO, new MemoryStdio())).toThrow(/already exists/);
    expect(() => sandbox.exec('a', 'e2', { args: [], cwd: '/', user: { uid: 0, gid: 0 } }, STDIO, new MemoryStdio())).toThrow(/no args/);
    expect(() => sandbox.process('a', 'e2')).toThrow(/not found/);
    await sandbox.start('a', 'e1');
    vms.last.agent.process('a', 'e1').end(0);
    await sandbox.wait('a', 'e1');
    await sandbox.delete('a', 'e1');
    sandbox.exec('a', 'e1', { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } }, STDIO, new MemoryStdio());
    expect(types()).toEqual(['created a', 'started a', 'exec-added a/e1', 'started a/e1', 'exited a/e1', 'exec-added a/e1']);
  });

  it('reports an OOM the agent delivered before the exit it caused', async () => {
    await create('a');
    await sandbox.start('a');
    vms.last.agent.oom('a');
    vms.last.agent.process('a').end(137);
    await sandbox.wait('a');
    expect(types()).toEqual(['created a', 'started a', 'oom a', 'exited a']);
  });

  it('ends every process, created ones too, with the reason when the VM dies', async () => {
    await create('a');
    await create('b');
    await sandbox.start('a');
    sandbox.exec('a', 'e1', { args: ['sleep', '9'], cwd: '/', user: { uid: 0, gid: 0 } }, STDIO, new MemoryStdio());
    await sandbox.start('a', 'e1');
    vms.last.hypervisor.die('qemu killed by SIGKILL');
    const exits = await Promise.all([sandbox.wait('a'), sandbox.wait('a', 'e1'), sandbox.wait('b')]);
    expect(exits.map((e) => [e.exitStatus, e.reason])).toEqual([
      [255, 'qemu killed by SIGKILL'],
      [255, 'qemu killed by SIGKILL'],
      [255, 'qemu killed by SIGKILL'],
    ]);
    await expectCode(sandbox.stats('a'), Code.FAILED_PRECONDITION);
    // Delete works on a failed sandbox and the last one releases it.
    for (const id of ['a', 'b']) await sandbox.delete(id);
    expect(sandbox.containerCount).toBe(0);
  });

  it('turns an agent that stops answering into exits with a clear reason', async () => {
    sandbox = make({ health: { intervalMs: 20, timeoutMs: 50, failures: 2, busyFailures: 6 } });
    await create('a');
    await sandbox.start('a');
    vms.last.agent.hung = true;
    const exit = await sandbox.wait('a');
    expect(exit.exitStatus).toBe(255);
    expect(exit.reason).toMatch(/the guest agent failed 2 health checks in a row while the VM stayed idle/);
    expect(vms.last.hypervisor.stopped).toBe(true);
  });

  it('gives an agent that is silent while its VM keeps using CPU more time: overload is not a hang', async () => {
    sandbox = make({ health: { intervalMs: 20, timeoutMs: 50, failures: 2, busyFailures: 6 } });
    await create('a');
    await sandbox.start('a');
    const h = vms.last.hypervisor;
    const agent = vms.last.agent;
    // The VM burns a full CPU the whole time: the agent is only slow.
    const burn = setInterval(() => (h.cpuMs += 100), 10);
    agent.hung = true;
    try {
      const exit = await sandbox.wait('a');
      expect(exit.reason).toMatch(/failed 6 health checks in a row while the VM kept using CPU/);
      expect(agent.calls.filter((c) => c === 'Check').length).toBeGreaterThanOrEqual(6);
    } finally {
      clearInterval(burn);
    }
  });

  it('fails a sandbox whose VM process is frozen at the next call, so a KILL ends its containers', async () => {
    const frozen = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(frozen);
    vms.pid = frozen.pid;
    sandbox = make({ health: { intervalMs: 60_000, timeoutMs: 50, failures: 2, busyFailures: 6 } });
    await create('a');
    await sandbox.start('a');
    process.kill(frozen.pid!, 'SIGSTOP');
    while (!isStoppedState(processState(frozen.pid!))) await new Promise((r) => setTimeout(r, 5));
    await sandbox.kill('a', '', 9);
    const exit = await sandbox.wait('a');
    expect(exit.exitStatus).toBe(255);
    expect(exit.reason).toMatch(/is stopped \(SIGSTOP or frozen\)/);
    await sandbox.delete('a');
  });

  it('gives stats as plain values and refuses them for a container that is not running', async () => {
    await create('a');
    await expectCode(sandbox.stats('a'), Code.FAILED_PRECONDITION, /cannot stats a created process/);
    await sandbox.start('a');
    const stats = await sandbox.stats('a');
    expect(stats.cgroupStats?.memoryStats.usage.usage).toBe(4096);
  });
});
