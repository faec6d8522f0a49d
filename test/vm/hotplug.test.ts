// CPU and memory hotplug on the real guest: QMP device_add through the QEMU driver,
// onlining by the agent, seen from inside a container.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { probeKvm, resolveAccel } from '../../src/config/index.js';
import type { SandboxVm } from '../../src/sandbox/sandbox-vm.js';
import { resizeVm } from '../../src/sandbox/vm-resize.js';
import { bootGuest, type Guest } from './guest.js';
import { isTcgCodeBuffer, parseSmaps } from '../support/smaps.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** QEMU's TCG code buffer (test/support/smaps.ts): its mappings' size and how much of them is resident, in MiB. */
function tcgCodeBuffer(pid: number): { sizeMiB: number; rssMiB: number } {
  const buffer = parseSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8')).filter(isTcgCodeBuffer);
  const bytes = buffer.reduce((sum, m) => {
    const [start, end] = m.range.split('-').map((h) => parseInt(h, 16));
    return sum + (end! - start!);
  }, 0);
  return { sizeMiB: bytes / 2 ** 20, rssMiB: buffer.reduce((sum, m) => sum + m.rssKiB, 0) / 1024 };
}

describe('hotplug on the real guest', () => {
  let guest: Guest;
  let vm: SandboxVm;
  const run = (cmd: string): Promise<string> => guest.run(cmd);
  const memTotalMiB = async (): Promise<number> => Number((await run('cat /proc/meminfo')).match(/MemTotal:\s+(\d+)/)![1]) / 1024;

  beforeAll(async () => {
    guest = await bootGuest('it-hotplug', { defaultMaxVcpus: 3, memorySlots: 2 });
    vm = guest.vm;
  }, 120_000);

  afterAll(async () => {
    await guest?.stop();
  });

  it('adds a vCPU and 256 MiB; the guest has them online', async () => {
    expect(await run('nproc')).toBe('1');
    const memBefore = await memTotalMiB();
    const r = await resizeVm(vm, { vcpus: 2, memoryMiB: 768 }, log);
    expect(r.vcpus).toEqual({ current: 2 });
    expect(r.memoryMiB).toEqual({ current: 768 });
    expect(await run('nproc')).toBe('2');
    expect((await memTotalMiB()) - memBefore).toBeGreaterThanOrEqual(256);
    expect(vm.hypervisor.resources()).toEqual({ vcpus: 2, memoryMiB: 768 });
  }, 60_000);

  it('caps at maxcpus and reports it, with QEMU still alive', async () => {
    const r = await resizeVm(vm, { vcpus: 5, memoryMiB: 768 }, log);
    expect(r.vcpus.current).toBe(3);
    expect(r.vcpus.limitedBy).toContain('maxcpus 3');
    expect(await run('nproc')).toBe('3');
    await vm.agent.check();
  }, 60_000);

  it('stops at memory_slots, reports it, and the VM keeps working', async () => {
    expect((await resizeVm(vm, { vcpus: 3, memoryMiB: 1024 }, log)).memoryMiB).toEqual({ current: 1024 });
    const r = await resizeVm(vm, { vcpus: 3, memoryMiB: 1280 }, log);
    expect(r.memoryMiB.current).toBe(1024);
    expect(r.memoryMiB.limitedBy).toBe('all 2 memory slots are used (memory_slots)');
    expect(await run('nproc')).toBe('3');
    await vm.agent.check();
  }, 60_000);

  it('removes hot-added vCPUs and never shrinks memory', async () => {
    const r = await resizeVm(vm, { vcpus: 1, memoryMiB: 512 }, log);
    expect(r.vcpus.current).toBe(1);
    expect(r.memoryMiB.current).toBe(1024);
    expect(await run('nproc')).toBe('1');
    await vm.agent.check();
  }, 60_000);
});

// With tcg_tb_size, QEMU runs every vCPU on one TCG thread: a hot-added vCPU needs no
// region of the (full) cache, and a vCPU is never unplugged (QEMU 7.2 aborts doing so).
describe('hotplug on the real guest with a bounded TCG translation cache', async () => {
  // testVmConfig leaves accel at "auto".
  const tcg = resolveAccel('auto', await probeKvm()) === 'tcg';
  let guest: Guest;

  beforeAll(async () => {
    if (tcg) guest = await bootGuest('it-tb-size', { defaultMaxVcpus: 2, qemuExtra: 'tcg_tb_size = 64' });
  }, 120_000);

  afterAll(async () => {
    await guest?.stop();
  });

  it.skipIf(!tcg)('boots with the cache at tcg_tb_size and full, hot-adds a vCPU, keeps it rather than unplug it', async () => {
    const { vm, run } = guest;
    await run('true');
    const buffer = tcgCodeBuffer(vm.hypervisor.pid!);
    // QEMU's own buffer is 1 GiB: here it is the configured size (a guard page less), and
    // a boot fills it, the state in which multi-threaded TCG aborted on a vCPU hot-add.
    expect(buffer.sizeMiB).toBeGreaterThan(63);
    expect(buffer.sizeMiB).toBeLessThanOrEqual(64);
    expect(buffer.rssMiB).toBeGreaterThan(64 * 0.9);

    expect((await resizeVm(vm, { vcpus: 2, memoryMiB: 512 }, log)).vcpus).toEqual({ current: 2 });
    expect(await run('nproc')).toBe('2');
    const r = await resizeVm(vm, { vcpus: 1, memoryMiB: 512 }, log);
    expect(r.vcpus).toEqual({ current: 2, limitedBy: 'this VM cannot hot-unplug vCPUs' });
    expect(await run('nproc')).toBe('2');
    await vm.agent.check();
    expect(vm.hypervisor.pids()).toContain(vm.hypervisor.pid);
  }, 90_000);
});
