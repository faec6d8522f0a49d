// The QEMU driver against real QEMU and virtiofsd with the project's guest (TCG): stopping
// a frozen QEMU is bounded, every way the VM ends resolves `exited` with its reason, and
// the extra monitor socket works next to our own QMP connection. The guest's agent is not
// needed: QEMU only has to run. Each test's timeout is the bound it checks.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { QemuConfig } from '../../src/config/index.js';
import { hostTscKhz } from '../../src/hypervisor/host.js';
import { qemuLaunchSpec } from '../../src/hypervisor/qemu/launch-spec.js';
import { QemuHypervisor, qemuRunPaths } from '../../src/hypervisor/qemu/qemu.js';
import { QmpClient } from '../../src/hypervisor/qemu/qmp-client.js';
import { parseProcStat, processState } from '../../src/hypervisor/proc-stat.js';
import { guestBuilt, testVmConfig } from '../vm/vm-config.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Live processes (not us) whose command line contains `marker`. */
function pidsMentioning(marker: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker) && processState(Number(d)) !== 'Z';
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

function ppidOf(pid: number): number | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.ppid;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ESRCH');
    return false;
  }
}

describe.skipIf(!guestBuilt())('QemuHypervisor with real QEMU and virtiofsd', () => {
  let dir: string;
  let runDir: string;
  let vm: QemuHypervisor | undefined;
  let qemuPid: number;
  let virtiofsdPid: number;

  /** Starts a VM into `vm` (assigned before anything can fail, so afterEach always stops it). */
  async function startVm(over: Partial<QemuConfig> = {}): Promise<void> {
    const config = await testVmConfig(dir, { defaultMemoryMiB: 256 });
    const h: QemuConfig = { ...config.hypervisor, ...over };
    mkdirSync(join(dir, 'shared'), { recursive: true });
    const spec = qemuLaunchSpec(h, {
      sandboxId: 'lifecycle',
      runDir,
      accel: 'tcg',
      vcpus: 1,
      maxVcpus: 2,
      memoryMiB: 256,
      maxMemoryMiB: 1024,
      debug: false,
      tscKhz: hostTscKhz(),
    });
    const v = new QemuHypervisor({
      spec,
      runDir,
      log,
      virtiofsd: { path: h.virtioFsDaemon, sharedDir: join(dir, 'shared'), cache: h.virtioFsCache, extraArgs: h.virtioFsExtraArgs },
    });
    vm = v;
    await v.start();
    qemuPid = v.pid!;
    // The C virtiofsd forks its server into new namespaces once its socket is up; the one
    // the hypervisor supervises is our own child, the parent of that fork.
    const helpers = pidsMentioning(`--socket-path=${qemuRunPaths(runDir).virtiofsd}`).filter((pid) => ppidOf(pid) === process.pid);
    expect(helpers).toHaveLength(1);
    virtiofsdPid = helpers[0]!;
  }

  /** Nothing of the VM is left: no QEMU, no virtiofsd, no run directory. */
  function expectAllGone(): void {
    expect(alive(qemuPid)).toBe(false);
    expect(alive(virtiofsdPid)).toBe(false);
    expect(pidsMentioning(runDir)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qemu-lifecycle-'));
    runDir = join(dir, 'vm');
  });

  afterEach(async () => {
    // Whatever a test left behind: SIGCONT first so nothing stays frozen, then stop.
    for (const pid of pidsMentioning(runDir)) process.kill(pid, 'SIGCONT');
    await vm?.stop();
    vm = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a plain VM', () => {
    beforeEach(async () => {
      await startVm();
    }, 60_000);

    it('SIGSTOPped QEMU: stop() kills it without waiting for quit, reaps QEMU and virtiofsd, removes the run dir', async () => {
      process.kill(qemuPid, 'SIGSTOP');
      while (processState(qemuPid) !== 'T') await sleep(5);
      await vm!.stop();
      expectAllGone();
      const e = await vm!.exited;
      expect(e.signal).toBe('SIGKILL');
      expect(e.reason).toBe('stopped by the runtime (qemu killed by SIGKILL)');
    }, 5000);

    it('QEMU killed by SIGKILL: exited says so at once; stop() then cleans up', async () => {
      process.kill(qemuPid, 'SIGKILL');
      const e = await vm!.exited;
      expect(e).toMatchObject({ code: null, signal: 'SIGKILL', reason: 'qemu killed by SIGKILL' });
      await vm!.stop();
      expectAllGone();
    }, 5000);

    it('QEMU sent SIGTERM: it shuts down cleanly and exited says how', async () => {
      process.kill(qemuPid, 'SIGTERM');
      const e = await vm!.exited;
      expect(e.reason).toBe(e.signal ? `qemu killed by ${e.signal}` : `qemu exited with code ${e.code}`);
      expect(e.stderr).toMatch(/terminating on signal 15/);
      await vm!.stop();
      expectAllGone();
    }, 5000);

    it('virtiofsd killed by SIGKILL: the hypervisor stops QEMU and exited names virtiofsd', async () => {
      process.kill(virtiofsdPid, 'SIGKILL');
      const e = await vm!.exited;
      expect(e.reason).toBe('virtiofsd killed by SIGKILL: the VM was stopped because its shared filesystem is gone');
      // stop() was started by the hypervisor itself; joining it waits for the cleanup.
      await vm!.stop();
      expectAllGone();
      await expect(vm!.resizeVcpus(2)).rejects.toThrow(/not running/);
    }, 6000);

    it("virtiofsd's forked server killed: its parent exits with code 1 and the VM is stopped the same way", async () => {
      let server: number | undefined;
      while (!(server = pidsMentioning(qemuRunPaths(runDir).virtiofsd).find((pid) => ppidOf(pid) === virtiofsdPid))) await sleep(10);
      process.kill(server, 'SIGKILL');
      const e = await vm!.exited;
      expect(e.reason).toBe('virtiofsd exited with code 1: the VM was stopped because its shared filesystem is gone');
      await vm!.stop();
      expectAllGone();
      expect(alive(server)).toBe(false);
    }, 6000);
  });

  describe('extra_monitor_socket = "qmp"', () => {
    beforeEach(async () => {
      await startVm({ extraMonitorSocket: 'qmp' });
    }, 60_000);

    it('serves a second QMP client while ours is connected; pausing the vCPUs there does not block our QMP or stop()', async () => {
      const extra = await QmpClient.connect(qemuRunPaths(runDir).extraMonitor, { timeoutMs: 5000 });
      expect((await extra.execute<{ status: string }>('query-status')).status).toBe('running');
      // A hung guest, as tests simulate it: vCPUs paused, QEMU's main loop alive.
      await extra.execute('stop');
      expect((await extra.execute<{ status: string }>('query-status')).status).toBe('paused');
      // Our own connection still drives QEMU: a vCPU hot-add goes through while paused.
      expect(await vm!.resizeVcpus(2)).toEqual({ current: 2 });
      await vm!.stop();
      await extra.closed; // QEMU went away under the tool's connection too
      expectAllGone();
      expect((await vm!.exited).reason).toMatch(/^stopped by the runtime \(qemu exited with code 0\)$/);
    }, 20_000);
  });
});
