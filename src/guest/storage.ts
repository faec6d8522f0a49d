// CreateSandbox storages: in a VM the containers' root filesystems arrive on the
// virtio-fs share `kataShared`, mounted at the storage's mount point; the pod's /dev/shm
// is an `ephemeral` storage, a tmpfs that every container then bind-mounts.
import { mkdir, readFile } from 'node:fs/promises';
import type { grpc } from '../gen/proto.js';
import { invalidArgument } from '../errors/index.js';
import { runTool } from './tool.js';

/** Storage drivers and the filesystem type each implies when the request names none. */
const DRIVERS: Readonly<Record<string, string>> = { 'virtio-fs': 'virtiofs', virtiofs: 'virtiofs', ephemeral: 'tmpfs' };

export interface MountPlan {
  source: string;
  mountPoint: string;
  fstype: string;
  options: string[];
}

/** Pure: what to mount for one Storage, or INVALID_ARGUMENT with the reason. */
export function planStorage(s: grpc.Storage.$Properties): MountPlan {
  const driver = s.driver ?? '';
  if (!(driver in DRIVERS)) throw invalidArgument(`storage driver ${JSON.stringify(driver)} is not supported (supported: virtio-fs, ephemeral)`);
  const mountPoint = s.mountPoint ?? '';
  if (!mountPoint.startsWith('/')) throw invalidArgument(`storage ${s.source ?? ''}: mount point ${JSON.stringify(mountPoint)} is not absolute`);
  const fstype = s.fstype || DRIVERS[driver] || '';
  if (driver === 'ephemeral') {
    // Kata's ephemeral storages are memory-backed; a block-backed one would need a device.
    if (fstype !== 'tmpfs') throw invalidArgument(`ephemeral storage at ${mountPoint}: fstype ${JSON.stringify(fstype)} is not supported (only tmpfs)`);
    return { source: s.source || 'tmpfs', mountPoint, fstype, options: s.options ?? [] };
  }
  if (!s.source) throw invalidArgument(`storage at ${mountPoint}: no source`);
  return { source: s.source, mountPoint, fstype, options: s.options ?? [] };
}

/** Mount points currently mounted (from /proc/self/mountinfo), octal escapes decoded. */
export async function mountedPaths(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const decode = (p: string): string => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return new Set(text.split('\n').filter(Boolean).map((line) => decode(line.split(' ')[4] ?? '')));
}

/** Mounts unless something is already mounted there (an agent restarted in a live VM). Returns whether it mounted. */
export async function mountStorage(plan: MountPlan): Promise<boolean> {
  if ((await mountedPaths()).has(plan.mountPoint)) return false;
  await mkdir(plan.mountPoint, { recursive: true });
  const args = [...(plan.fstype ? ['-t', plan.fstype] : []), ...(plan.options.length ? ['-o', plan.options.join(',')] : []), plan.source, plan.mountPoint];
  await runTool('mount', args);
  return true;
}

export async function unmount(mountPoint: string): Promise<void> {
  await runTool('umount', [mountPoint]);
}
