// OnlineCPUMem and GetGuestDetails against a fake sysfs tree, directly and through the agent API.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryBlockSize, onlineCpus, onlineMemory, realSysfs, supportsMemoryProbe, type SysfsIo } from '../../src/guest/cpu-mem.js';
import { startHarness, type Harness } from './agent-harness.js';

/** cpu0 (no online file: the boot CPU) plus cpu1..n with the given online states. */
function fakeSysfs(root: string, cpus: boolean[], memory: string[], blockSizeHex = '8000000'): void {
  const cpuDir = join(root, 'devices/system/cpu');
  mkdirSync(join(cpuDir, 'cpu0'), { recursive: true });
  cpus.forEach((on, i) => {
    mkdirSync(join(cpuDir, `cpu${i + 1}`), { recursive: true });
    writeFileSync(join(cpuDir, `cpu${i + 1}`, 'online'), on ? '1\n' : '0\n');
  });
  mkdirSync(join(cpuDir, 'cpufreq'), { recursive: true }); // not a CPU
  const memDir = join(root, 'devices/system/memory');
  mkdirSync(memDir, { recursive: true });
  writeFileSync(join(memDir, 'block_size_bytes'), `${blockSizeHex}\n`);
  memory.forEach((state, i) => {
    mkdirSync(join(memDir, `memory${i}`), { recursive: true });
    writeFileSync(join(memDir, `memory${i}`, 'state'), `${state}\n`);
  });
}

const read = (root: string, rel: string): string => readFileSync(join(root, rel), 'utf8').trim();

describe('onlining CPUs and memory in sysfs', () => {
  let root = '';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fake-sysfs-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('onlines offline CPUs lowest first until the target total is online', async () => {
    fakeSysfs(root, [true, false, false, false], []);
    expect(await onlineCpus(3, { sysfsRoot: root, retries: 0 })).toBe(3);
    expect([2, 3, 4].map((n) => read(root, `devices/system/cpu/cpu${n}/online`))).toEqual(['1', '0', '0']);
    expect(await onlineCpus(2, { sysfsRoot: root, retries: 0 })).toBe(3); // already enough: nothing changes
    expect(read(root, 'devices/system/cpu/cpu3/online')).toBe('0');
  });

  it('waits for CPUs that appear late, and gives up with a reason', async () => {
    fakeSysfs(root, [false], []);
    setTimeout(() => fakeSysfs(root, [false, false], []), 30); // cpu2 shows up after the first scan
    expect(await onlineCpus(3, { sysfsRoot: root, retries: 20, retryMs: 10 })).toBe(3);
    await expect(onlineCpus(5, { sysfsRoot: root, retries: 2, retryMs: 1 })).rejects.toThrow(/only 3 of 5 CPUs are online/);
  });

  it('onlines every offline memory block as movable, falling back to online', async () => {
    fakeSysfs(root, [], ['online', 'offline', 'offline', 'going-offline']);
    const io: SysfsIo = {
      read: realSysfs.read,
      // memory2 cannot be movable (next to kernel memory): the kernel answers EINVAL.
      write: (p, v) =>
        p.includes('memory2') && v === 'online_movable' ? Promise.reject(Object.assign(new Error('EINVAL'), { code: 'EINVAL' })) : realSysfs.write(p, v),
    };
    expect(await onlineMemory({ sysfsRoot: root, io })).toBe(2);
    expect(read(root, 'devices/system/memory/memory1/state')).toBe('online_movable');
    expect(read(root, 'devices/system/memory/memory2/state')).toBe('online');
    expect(read(root, 'devices/system/memory/memory3/state')).toBe('going-offline');
  });

  it('reads the memory block size (hex) and the probe interface', async () => {
    fakeSysfs(root, [], [], '8000000');
    expect(await memoryBlockSize(root)).toBe(128 << 20);
    expect(await supportsMemoryProbe(root)).toBe(false);
    writeFileSync(join(root, 'devices/system/memory/probe'), '');
    expect(await supportsMemoryProbe(root)).toBe(true);
    expect(await memoryBlockSize(join(root, 'missing'))).toBe(0);
  });
});

describe('OnlineCPUMem and GetGuestDetails through the agent API', () => {
  let h: Harness;
  let root = '';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fake-sysfs-'));
    h = await startHarness(['--sysfs', root]);
  });
  afterAll(async () => {
    await h?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('follows Kata: nb_cpus is a total, cpu_only skips memory, nb_cpus 0 onlines memory only', async () => {
    fakeSysfs(root, [false, false, false], ['offline']);
    await h.agent.OnlineCPUMem({ wait: false, nbCpus: 2, cpuOnly: true });
    expect(read(root, 'devices/system/cpu/cpu1/online')).toBe('1');
    expect(read(root, 'devices/system/cpu/cpu2/online')).toBe('0');
    expect(read(root, 'devices/system/memory/memory0/state')).toBe('offline');
    await h.agent.OnlineCPUMem({ nbCpus: 0, cpuOnly: false });
    expect(read(root, 'devices/system/cpu/cpu2/online')).toBe('0');
    expect(read(root, 'devices/system/memory/memory0/state')).toBe('online_movable');
  });

  it('reports the memory block size and agent details', async () => {
    const d = await h.agent.GetGuestDetails({ memBlockSize: true, memHotplugProbe: true });
    expect(d.memBlockSizeBytes).toBe(128 << 20);
    expect(d.supportMemHotplugProbe).toBe(false);
    expect(d.agentDetails?.version).not.toBe('');
    expect(d.agentDetails?.storageHandlers).toContain('virtio-fs');
    expect((await h.agent.GetGuestDetails({})).memBlockSizeBytes).toBe(0);
  });
});
