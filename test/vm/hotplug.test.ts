// CPU and memory hotplug on the real guest: QMP device_add through the QEMU driver,
// onlining by the agent, seen from inside a container.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { bootSandboxVm, sharedFsStorage, type SandboxVm } from '../../src/sandbox/sandbox-vm.js';
import { GUEST_SHARED_DIR } from '../../src/sandbox/shared-fs.js';
import { resizeVm } from '../../src/sandbox/vm-resize.js';
import { makeBusyboxRootfs, ociSpec } from '../guest/busybox-bundle.js';
import { testVmConfig } from './vm-config.js';
import { readStdoutToEnd } from './agent-output.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('hotplug on the real guest', () => {
  let dir: string;
  let vm: SandboxVm;
  let n = 0;

  /** Runs a command in a fresh container and returns its stdout. */
  async function run(cmd: string): Promise<string> {
    const id = `probe${n++}`;
    await vm.agent.createContainer({ containerId: id, spec: ociSpec(`${GUEST_SHARED_DIR}/probe/rootfs`, ['sh', '-c', cmd]) });
    await vm.agent.startContainer(id);
    const out = await readStdoutToEnd(vm.agent, id, id);
    expect(await vm.agent.waitProcess(id, id)).toBe(0);
    await vm.agent.removeContainer(id);
    return out.trim();
  }

  const memTotalMiB = async (): Promise<number> => Number((await run('cat /proc/meminfo')).match(/MemTotal:\s+(\d+)/)![1]) / 1024;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vm-hotplug-'));
    mkdirSync(join(dir, 'shared/probe/rootfs'), { recursive: true });
    makeBusyboxRootfs(join(dir, 'shared/probe/rootfs'));
    const config = await testVmConfig(dir, { defaultMaxVcpus: 3, memorySlots: 2 });
    vm = await bootSandboxVm({ sandboxId: 'it-hotplug', config, sharedDir: join(dir, 'shared'), runDir: join(dir, 'vm'), vcpus: 1, memoryMiB: 512, log });
    await vm.agent.createSandbox({ sandboxId: 'it-hotplug', hostname: 'h', storages: [sharedFsStorage()] });
  }, 120_000);

  afterAll(async () => {
    vm?.agent.close();
    await vm?.hypervisor.stop();
    rmSync(dir, { recursive: true, force: true });
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
