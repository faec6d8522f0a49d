// OnlineCPUMem: hot-added vCPUs and memory blocks arrive offline in the guest; the
// agent brings them online through sysfs. The sysfs root is a parameter so the logic
// runs against a fake tree in tests.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { internal } from '../errors/index.js';

export interface SysfsIo {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
}

export const realSysfs: SysfsIo = {
  read: (p) => readFile(p, 'utf8'),
  write: (p, v) => writeFile(p, v),
};

export interface OnlineOptions {
  /** Usually /sys. */
  sysfsRoot: string;
  io?: SysfsIo;
  /** New CPUs can show up in sysfs a little after QEMU reported them: retry (Kata: 100 × 50 ms). */
  retries?: number;
  retryMs?: number;
}

const numbered = (prefix: string) => (name: string) => new RegExp(`^${prefix}\\d+$`).test(name);
const byNumber = (a: string, b: string): number => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, ''));

async function listNumbered(dir: string, prefix: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter(numbered(prefix)).sort(byNumber);
}

/** CPUs with no `online` file (the boot CPU) cannot go offline: they count as online. */
async function cpuStates(cpuDir: string, io: SysfsIo): Promise<{ name: string; online: boolean }[]> {
  const names = await listNumbered(cpuDir, 'cpu');
  return Promise.all(
    names.map(async (name) => {
      const v = await io.read(join(cpuDir, name, 'online')).catch(() => '1');
      return { name, online: v.trim() !== '0' };
    }),
  );
}

/**
 * Onlines offline CPUs, lowest number first, until `target` CPUs are online (Kata's
 * nb_cpus is the total wanted, not a count to add). Returns the online count.
 */
export async function onlineCpus(target: number, opts: OnlineOptions): Promise<number> {
  const io = opts.io ?? realSysfs;
  const cpuDir = join(opts.sysfsRoot, 'devices/system/cpu');
  const retries = opts.retries ?? 100;
  for (let attempt = 0; ; attempt++) {
    const cpus = await cpuStates(cpuDir, io);
    let online = cpus.filter((c) => c.online).length;
    for (const cpu of cpus) {
      if (online >= target) break;
      if (cpu.online) continue;
      try {
        await io.write(join(cpuDir, cpu.name, 'online'), '1');
        online++;
      } catch {
        // Not ready yet (or refused): the next scan tries again.
      }
    }
    if (online >= target) return online;
    if (attempt >= retries) throw internal(`online CPUs: only ${online} of ${target} CPUs are online after ${retries} retries`);
    await sleep(opts.retryMs ?? 50);
  }
}

/**
 * Onlines every offline memory block, as movable memory where the kernel allows it
 * (so it can be unplugged again), else as normal memory. Returns how many it onlined.
 */
export async function onlineMemory(opts: OnlineOptions): Promise<number> {
  const io = opts.io ?? realSysfs;
  const memDir = join(opts.sysfsRoot, 'devices/system/memory');
  let count = 0;
  for (const name of await listNumbered(memDir, 'memory')) {
    const state = join(memDir, name, 'state');
    const current = await io.read(state).catch(() => '');
    if (current.trim() !== 'offline') continue;
    try {
      await io.write(state, 'online_movable');
    } catch {
      try {
        await io.write(state, 'online');
      } catch (err) {
        throw internal(`online memory: cannot online ${name}: ${(err as Error).message}`, err);
      }
    }
    count++;
  }
  return count;
}

export interface OnlineCpuMemRequest {
  nbCpus: number;
  cpuOnly: boolean;
}

/**
 * Kata 3.x semantics: nb_cpus > 0 onlines CPUs up to that total; unless cpu_only, all
 * offline memory too. The request's `wait` flag is ignored, as in Kata's Rust agent:
 * the work is always done (with retries) before the answer.
 */
export async function onlineCpuMem(req: OnlineCpuMemRequest, opts: OnlineOptions): Promise<{ cpus?: number; memoryBlocks?: number }> {
  const cpus = req.nbCpus > 0 ? await onlineCpus(req.nbCpus, opts) : undefined;
  const memoryBlocks = req.cpuOnly ? undefined : await onlineMemory(opts);
  return { cpus, memoryBlocks };
}

/** Guest memory block size (hex in sysfs), 0 when the kernel has no memory hotplug. */
export async function memoryBlockSize(sysfsRoot: string, io: SysfsIo = realSysfs): Promise<number> {
  const text = await io.read(join(sysfsRoot, 'devices/system/memory/block_size_bytes')).catch(() => '');
  const n = Number.parseInt(text.trim(), 16);
  return Number.isFinite(n) ? n : 0;
}

/** Whether the guest can add memory by probe address (ARCH_MEMORY_PROBE). */
export async function supportsMemoryProbe(sysfsRoot: string, io: SysfsIo = realSysfs): Promise<boolean> {
  return io
    .read(join(sysfsRoot, 'devices/system/memory/probe'))
    .then(() => true)
    .catch((err: NodeJS.ErrnoException) => err.code !== 'ENOENT');
}
