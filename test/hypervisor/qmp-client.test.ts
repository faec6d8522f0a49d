// The QMP client against a real QEMU (machine "none": no guest, instant start).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient, QmpError } from '../../src/hypervisor/qemu/qmp-client.js';
import { Code, RuntimeError } from '../../src/errors/index.js';

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
