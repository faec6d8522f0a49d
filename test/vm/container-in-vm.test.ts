// The real guest under QEMU: a container from a busybox rootfs shared over virtio-fs,
// run by the project's agent inside the VM; an exec in the same VM; then a stop that
// leaves nothing behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { probeKvm, resolveAccel } from '../../src/config/index.js';
import { bootSandboxVm, sharedFsStorage, type SandboxVm } from '../../src/sandbox/sandbox-vm.js';
import { GUEST_SHARED_DIR } from '../../src/sandbox/shared-fs.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { makeBusyboxRootfs, ociSpec } from '../guest/busybox-bundle.js';
import { testVmConfig } from './vm-config.js';
import { readStdoutToEnd } from './agent-output.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Processes whose command line mentions `marker`. */
function processesMentioning(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}

describe('a container inside the real guest VM', () => {
  let dir: string;
  let runDir: string;
  let shared: string;
  let vm: SandboxVm;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vm-it-'));
    runDir = join(dir, 'vm');
    shared = join(dir, 'shared');
    for (const c of ['c1', 'c2']) {
      mkdirSync(join(shared, c, 'rootfs'), { recursive: true });
      makeBusyboxRootfs(join(shared, c, 'rootfs'));
    }
    const config = await testVmConfig(dir);
    vm = await bootSandboxVm({ sandboxId: 'it-sb', config, sharedDir: shared, runDir, vcpus: 1, memoryMiB: 512, log });
    await vm.agent.createSandbox({ sandboxId: 'it-sb', hostname: 'it-sb', storages: [sharedFsStorage()] });
  }, 120_000);

  afterAll(async () => {
    await vm?.hypervisor.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs QEMU itself (the pid containerd is told) as a batch job under TCG, every thread of it', async () => {
    if (resolveAccel('auto', await probeKvm()) !== 'tcg') return; // testVmConfig leaves accel at "auto"
    const pid = vm.hypervisor.pid!;
    expect(readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).toMatch(/^qemu-system/);
    // Field 41 of /proc/PID/stat is the scheduling policy; SCHED_BATCH is 3.
    const policy = (statText: string): number => Number(statText.slice(statText.lastIndexOf(')') + 2).split(' ')[38]);
    const threads = readdirSync(`/proc/${pid}/task`);
    expect(threads.length).toBeGreaterThan(1);
    for (const t of threads) expect(policy(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'))).toBe(3);
  });

  it('runs sh in a container and sees the guest kernel, exit code 0', async () => {
    const { agent } = vm;
    const spec = ociSpec(`${GUEST_SHARED_DIR}/c1/rootfs`, ['sh', '-c', 'echo hello; cat /proc/version']);
    await agent.createContainer({ containerId: 'c1', spec });
    await agent.startContainer('c1');
    const [out, status] = await Promise.all([readStdoutToEnd(agent, 'c1', 'c1'), agent.waitProcess('c1', 'c1')]);
    expect(status).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('hello');
    const hostRelease = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
    expect(lines[1]).toMatch(/^Linux version 6\.1\.0-\S+-cloud-amd64/);
    expect(lines[1]).not.toContain(hostRelease);
    await agent.removeContainer('c1');
  }, 60_000);

  it('execs a second process in a running container of the same VM', async () => {
    const { agent } = vm;
    await agent.createContainer({ containerId: 'c2', spec: ociSpec(`${GUEST_SHARED_DIR}/c2/rootfs`, ['sleep', '300']) });
    await agent.startContainer('c2');
    await agent.execProcess('c2', 'e1', { user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'uname -r; exit 7'], env: ['PATH=/bin'], cwd: '/' });
    const [out, status] = await Promise.all([readStdoutToEnd(agent, 'c2', 'e1'), agent.waitProcess('c2', 'e1')]);
    expect(status).toBe(7);
    expect(out.trim()).toMatch(/^6\.1\.0-\S+-cloud-amd64$/);
    await agent.signalProcess('c2', '', 9);
    expect(await agent.waitProcess('c2', 'c2')).toBe(137);
    await agent.removeContainer('c2');
    const err = await agent.waitProcess('c2', 'e1').catch((e: unknown) => e);
    expect((err as RuntimeError).code).toBe(Code.NOT_FOUND);
  }, 60_000);

  it('stops the VM and leaves no QEMU, virtiofsd, socket or run directory', async () => {
    const pid = vm.hypervisor.pid;
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(join(runDir, 'qmp.sock'))).toBe(true);
    await vm.agent.destroySandbox();
    vm.agent.close();
    await vm.hypervisor.stop();
    expect(processesMentioning(runDir)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
    expect(() => process.kill(pid!, 0)).toThrow();
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  }, 30_000);
});

describe('a guest whose agent does not answer', () => {
  it('fails within dial_timeout with UNAVAILABLE and leaves nothing running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vm-noagent-'));
    const runDir = join(dir, 'vm');
    try {
      const config = await testVmConfig(dir, { dialTimeoutSec: 2 });
      const t0 = Date.now();
      const err = await bootSandboxVm({ sandboxId: 'it-noagent', config, sharedDir: dir, runDir, vcpus: 1, memoryMiB: 512, log }).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).code).toBe(Code.UNAVAILABLE);
      expect((err as RuntimeError).message).toContain('serial://');
      expect(processesMentioning(runDir)).toEqual([]);
      expect(existsSync(runDir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('reports a guest that powers off (no agent in the image) with the VM exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vm-gone-'));
    const runDir = join(dir, 'vm');
    try {
      const config = await testVmConfig(dir, { kernelParams: 'kata.agent_path=/no/such/agent.mjs' });
      const err = await bootSandboxVm({ sandboxId: 'it-gone', config, sharedDir: dir, runDir, vcpus: 1, memoryMiB: 512, log }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).message).toContain('the VM exited before its agent answered');
      expect(processesMentioning(runDir)).toEqual([]);
      expect(existsSync(runDir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
