// Bad input to the QEMU driver: each failure is clear, fast, and leaves nothing behind.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, existsSync, writeFileSync, mkdirSync, openSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { QemuHypervisor, qemuRunPaths } from '../../src/hypervisor/qemu/qemu.js';
import type { QemuLaunchSpec } from '../../src/hypervisor/qemu/command-line.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { GUEST_DIR, guestBuilt } from '../vm/vm-config.js';

const log = pino({ level: 'silent' });

function specFor(runDir: string, kernel: string, over: Partial<QemuLaunchSpec> = {}): QemuLaunchSpec {
  const p = qemuRunPaths(runDir);
  return {
    qemuPath: '/usr/bin/qemu-system-x86_64',
    name: 'fail',
    machineType: 'q35',
    accel: 'tcg',
    vcpus: 1,
    maxVcpus: 2,
    memoryMiB: 256,
    memorySlots: 2,
    maxMemoryMiB: 1024,
    kernel,
    kernelParams: [],
    agent: { kind: 'serial', socketPath: p.agent },
    qmpSocket: p.qmp,
    consoleLog: p.console,
    pidFile: p.pid,
    ...over,
  };
}

/** QEMU processes whose command line mentions `marker` (ours carry the run dir). */
function qemusMentioning(marker: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('qemu-system') && l.includes(marker));
}

describe('QemuHypervisor bad input', () => {
  let dir: string;
  let runDir: string;
  let kernel: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qemu-fail-'));
    runDir = join(dir, 'vm');
    kernel = join(dir, 'vmlinux');
    writeFileSync(kernel, 'not a kernel');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function startFails(spec: QemuLaunchSpec): Promise<RuntimeError> {
    const vm = new QemuHypervisor({ spec, runDir, log, startTimeoutMs: 5000 });
    const t0 = Date.now();
    const err = await vm.start().catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(existsSync(runDir)).toBe(false);
    expect(qemusMentioning(runDir)).toEqual([]);
    return err as RuntimeError;
  }

  it('names a missing QEMU binary', async () => {
    const err = await startFails(specFor(runDir, kernel, { qemuPath: join(dir, 'no-qemu') }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toContain(join(dir, 'no-qemu'));
  });

  it('names a missing kernel', async () => {
    const err = await startFails(specFor(runDir, join(dir, 'no-kernel')));
    expect(err.message).toMatch(/kernel .*no-kernel does not exist/);
  });

  it('reports QEMU exiting early with its own stderr', async () => {
    const err = await startFails(specFor(runDir, kernel, { machineType: 'no-such-machine' }));
    expect(err.message).toContain('qemu exited with code 1');
    expect(err.message).toMatch(/unsupported machine type|no-such-machine/i);
  });

  it('reports an unloadable kernel with QEMU stderr', async () => {
    mkdirSync(runDir, { recursive: true });
    const err = await startFails(specFor(runDir, kernel));
    expect(err.message).toMatch(/qemu exited/);
  });

  // /dev/null stands for /dev/vhost-vsock holding a claimed CID: QEMU must receive it as
  // fd 3 (then vhost_set_owner fails on it, where a missing fd 3 gives "Bad file descriptor").
  it.skipIf(!guestBuilt())('hands the vhost-vsock descriptor to QEMU as its fd 3 and closes ours', async () => {
    const fd = openSync('/dev/null', 'r+');
    // A loadable kernel, so QEMU gets as far as creating the device.
    const err = await startFails(specFor(runDir, join(GUEST_DIR, 'vmlinux'), { agent: { kind: 'vsock', cid: 5, vhostFd: fd } }));
    expect(err.message).toContain('vhost_set_owner failed: Inappropriate ioctl for device');
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });

  it('closes the vhost-vsock descriptor when the start fails before QEMU runs', async () => {
    const fd = openSync('/dev/null', 'r+');
    await startFails(specFor(runDir, join(dir, 'no-kernel'), { agent: { kind: 'vsock', cid: 5, vhostFd: fd } }));
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });
});
