// The QMP client against a real QEMU (machine "none": no guest, instant start).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_QMP_COMMAND_TIMEOUT_MS, QmpClient, QmpError } from '../../src/hypervisor/qemu/qmp-client.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { FakeQmpServer } from './fake-qmp.js';

const QEMU = '/usr/bin/qemu-system-x86_64';

describe('QmpClient with a real QEMU', () => {
  let dir: string;
  let qemu: ChildProcess;
  let sock: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmp-'));
    sock = join(dir, 'qmp.sock');
    qemu = spawn(QEMU, ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
  });

  afterAll(() => {
    if (qemu.exitCode === null) qemu.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates, runs commands, reports errors with their class, and sees events', async () => {
    const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
    const status = await qmp.execute<{ status: string; running: boolean }>('query-status');
    expect(status.status).toMatch(/running|prelaunch|paused/);

    const err = await qmp.execute('no-such-command').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpError);
    expect((err as QmpError).cls).toBe('CommandNotFound');
    expect((err as QmpError).message).toContain('no-such-command');

    const stopped = qmp.waitEvent('STOP', 5000);
    await qmp.execute('stop');
    expect((await stopped).event).toBe('STOP');

    // Several commands in flight at once are matched to their own replies.
    const [a, b] = await Promise.all([qmp.execute<{ status: string }>('query-status'), qmp.execute<unknown[]>('query-chardev')]);
    expect(a.status).toBe('paused');
    expect(Array.isArray(b)).toBe(true);

    const shutdown = qmp.waitEvent('SHUTDOWN', 5000);
    await qmp.execute('quit');
    await shutdown;
    await qmp.closed;
    const after = await qmp.execute('query-status').catch((e: unknown) => e);
    expect(after).toBeInstanceOf(RuntimeError);
    expect((after as RuntimeError).code).toBe(Code.UNAVAILABLE);
  });

  it('fails clearly when nothing listens', async () => {
    const err = await QmpClient.connect(join(dir, 'nothing.sock'), { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.UNAVAILABLE);
    expect((err as RuntimeError).message).toContain('nothing.sock');
  });
});

describe('QmpClient deadlines, against a QMP server that never answers', () => {
  let dir: string;
  let fake: FakeQmpServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qmp-fake-'));
    fake = await FakeQmpServer.listen(join(dir, 'qmp.sock'), (cmd) => (cmd === 'query-status' ? { status: 'running' } : 'never'));
  });

  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const failure = (p: Promise<unknown>): Promise<RuntimeError> =>
    p.then(
      () => {
        throw new Error('expected the command to fail');
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(RuntimeError);
        return e as RuntimeError;
      },
    );

  it('has a default deadline of 10 s', () => {
    expect(DEFAULT_QMP_COMMAND_TIMEOUT_MS).toBe(10_000);
  });

  it('fails an unanswered command with DEADLINE_EXCEEDED naming it, at the per-call deadline', async () => {
    const qmp = await QmpClient.connect(fake.path, { timeoutMs: 1000 });
    const err = await failure(qmp.execute('device_add', { id: 'cpu-1' }, { timeoutMs: 100 }));
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(err.message).toBe('qmp device_add: no reply within 100 ms');
    // The connection stays usable: a late reply cannot be mistaken for another command's.
    expect(await qmp.execute<{ status: string }>('query-status')).toEqual({ status: 'running' });
    qmp.close();
  });

  it('applies the client default to commands that set no deadline', async () => {
    const qmp = await QmpClient.connect(fake.path, { timeoutMs: 1000, commandTimeoutMs: 150 });
    const err = await failure(qmp.execute('query-hotpluggable-cpus'));
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(err.message).toBe('qmp query-hotpluggable-cpus: no reply within 150 ms');
    qmp.close();
  });

  it('refuses "no deadline"', async () => {
    const qmp = await QmpClient.connect(fake.path, { timeoutMs: 1000 });
    for (const timeoutMs of [0, -1, Infinity, NaN]) {
      const err = await failure(qmp.execute('stop', undefined, { timeoutMs }));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toContain('timeoutMs of stop');
    }
    qmp.close();
  });

  it('fails every pending command, each by name, when the connection closes', async () => {
    const qmp = await QmpClient.connect(fake.path, { timeoutMs: 1000 });
    const pending = [qmp.execute('device_add'), qmp.execute('object-add'), qmp.execute('quit', undefined, { timeoutMs: 60_000 })].map(failure);
    await sleep(50); // the server has them all
    fake.dropClients();
    const errs = await Promise.all(pending);
    expect(errs.map((e) => e.code)).toEqual([Code.UNAVAILABLE, Code.UNAVAILABLE, Code.UNAVAILABLE]);
    expect(errs.map((e) => e.message)).toEqual([
      'qmp device_add: no reply, connection closed',
      'qmp object-add: no reply, connection closed',
      'qmp quit: no reply, connection closed',
    ]);
    const after = await failure(qmp.execute('query-status'));
    expect(after.code).toBe(Code.UNAVAILABLE);
    expect(after.message).toBe('qmp query-status: connection closed');
  });

  it('bounds the greeting: a socket that accepts but never greets fails connect', async () => {
    const { createServer } = await import('node:net');
    const mute = createServer(() => undefined);
    const path = join(dir, 'mute.sock');
    await new Promise<void>((r) => mute.listen(path, r));
    const err = await failure(QmpClient.connect(path, { timeoutMs: 100 }));
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(err.message).toContain('no greeting');
    await new Promise<void>((r) => mute.close(() => r()));
  });

  it('fails connect at once when the socket closes before the greeting (QEMU dying)', async () => {
    const { createServer } = await import('node:net');
    const dying = createServer((sock) => sock.destroy());
    const path = join(dir, 'dying.sock');
    await new Promise<void>((r) => dying.listen(path, r));
    const err = await failure(QmpClient.connect(path, { timeoutMs: 60_000 }));
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toBe(`qmp: ${path} closed before QEMU's greeting`);
    await new Promise<void>((r) => dying.close(() => r()));
  }, 5000);
});
