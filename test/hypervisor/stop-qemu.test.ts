// Each path of the bounded QEMU stop, with stand-in processes and a fake QMP server:
// which signal ends the process, and that no path waits past its bounds.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SupervisedProcess } from '../../src/hypervisor/supervised-process.js';
import { processState } from '../../src/hypervisor/proc-stat.js';
import { QmpClient } from '../../src/hypervisor/qemu/qmp-client.js';
import { stopQemu, type QemuStopBounds } from '../../src/hypervisor/qemu/stop-qemu.js';
import { FakeQmpServer, type FakeAnswer } from './fake-qmp.js';

const BOUNDS: QemuStopBounds = { quitTimeoutMs: 200, exitGraceMs: 200, reapTimeoutMs: 1000 };

describe('stopQemu', { timeout: 5000 }, () => {
  let dir: string;
  let n = 0;
  const open: Array<{ qmp: QmpClient; fake: FakeQmpServer }> = [];
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'stop-qemu-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const { qmp, fake } of open.splice(0)) {
      qmp.close();
      await fake.close();
    }
  });

  /** A stand-in QEMU and a QMP server answering `quit` as told. */
  async function standIn(onQuit: (p: SupervisedProcess) => FakeAnswer): Promise<{ p: SupervisedProcess; qmp: QmpClient; fake: FakeQmpServer }> {
    const p = new SupervisedProcess('qemu', '/bin/sleep', ['60']);
    const fake = await FakeQmpServer.listen(join(dir, `qmp${n++}.sock`), (cmd) => (cmd === 'quit' ? onQuit(p) : {}));
    const qmp = await QmpClient.connect(fake.path, { timeoutMs: 1000 });
    open.push({ qmp, fake });
    return { p, qmp, fake };
  }

  it('quit answered and QEMU exits: nothing is killed', async () => {
    const { p, qmp } = await standIn((proc) => (proc.signal('SIGTERM'), {}));
    expect(await stopQemu(p, qmp, BOUNDS)).toBe('exited after quit');
    expect((await p.exited).signal).toBe('SIGTERM');
  });

  it('quit unanswered (main loop hung): SIGKILL right at the quit deadline', async () => {
    const { p, qmp } = await standIn(() => 'never');
    expect(await stopQemu(p, qmp, BOUNDS)).toBe('killed (SIGKILL): qmp quit: no reply within 200 ms');
    expect((await p.exited).signal).toBe('SIGKILL');
  });

  it('quit answered but QEMU does not exit: SIGKILL after the grace', async () => {
    const { p, qmp } = await standIn(() => ({}));
    expect(await stopQemu(p, qmp, BOUNDS)).toBe('killed (SIGKILL): still running 200 ms after quit');
    expect((await p.exited).signal).toBe('SIGKILL');
  });

  it('frozen (SIGSTOP): SIGKILL without sending quit', async () => {
    const { p, qmp, fake } = await standIn(() => ({}));
    process.kill(p.pid!, 'SIGSTOP');
    while (processState(p.pid!) !== 'T') await sleep(5);
    expect(await stopQemu(p, qmp, BOUNDS)).toBe('killed (SIGKILL): it was stopped (SIGSTOP) and could not answer quit');
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(fake.commands).not.toContain('quit');
  });

  it('no QMP yet: SIGTERM, then SIGKILL when it is ignored', async () => {
    const polite = new SupervisedProcess('qemu', '/bin/sleep', ['60']);
    expect(await stopQemu(polite, undefined, BOUNDS)).toBe('exited on SIGTERM');
    const stubborn = new SupervisedProcess('qemu', '/bin/sh', ['-c', 'trap "" TERM; while :; do sleep 0.05; done']);
    await sleep(50); // the trap is set
    expect(await stopQemu(stubborn, undefined, BOUNDS)).toBe('killed (SIGKILL): still running 200 ms after SIGTERM');
    expect((await stubborn.exited).signal).toBe('SIGKILL');
  });

  it('already gone: nothing to do', async () => {
    const p = new SupervisedProcess('qemu', '/bin/true', []);
    await p.exited;
    expect(await stopQemu(p, undefined, BOUNDS)).toBe('had already exited');
  });
});
