// A container's bind mounts (CRI's /etc/hosts, /etc/resolv.conf, /etc/hostname,
// /dev/termination-log, volumes) name host paths that do not exist in the VM. Each one is
// bind-mounted into the sandbox's virtio-fs share and the guest's spec points at it there,
// so writes on either side are seen on the other (shared, not copied). /dev/shm becomes
// the pod's tmpfs in the guest, as Kata does, so IPC stays inside the VM.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Mount } from '../oci/runtime-spec.js';
import { invalidArgument } from '../errors/index.js';
import { runMount, unmountAll } from './mount-table.js';
import { GUEST_SHARED_DIR, type SharedDirs } from './shared-fs.js';

/** The pod's /dev/shm in the guest: a tmpfs the agent mounts at CreateSandbox (Kata's path). */
export const GUEST_SHM_DIR = '/run/kata-containers/sandbox/shm';

/** Host paths that name the VM's own pseudo-filesystems: passed through, never shared. */
const SYSTEM_SOURCES = ['/proc', '/sys', '/dev'];

/** One host path to bind into the share, below `<share>/<container>/volumes/`. */
export interface ShareBind {
  readonly source: string;
  readonly name: string;
  readonly readonly: boolean;
  readonly destination: string;
}

export interface MountPlan {
  /** The spec's mounts as the guest must see them, in the same order. */
  readonly guestMounts: Mount[];
  readonly binds: ShareBind[];
}

const isBind = (m: Mount): boolean => m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
const underSystem = (p: string): boolean => SYSTEM_SOURCES.some((s) => p === s || p.startsWith(`${s}/`));

/** Pure: which mounts are shared, and the guest's mounts after rewriting their sources. */
export function planContainerMounts(containerId: string, mounts: readonly Mount[]): MountPlan {
  const binds: ShareBind[] = [];
  const guestMounts = mounts.map((m): Mount => {
    if (!isBind(m) || !m.source) return m;
    if (m.destination === '/dev/shm') return { ...m, source: GUEST_SHM_DIR };
    if (underSystem(m.source)) return m;
    if (!m.source.startsWith('/')) throw invalidArgument(`container ${containerId}: mount source ${JSON.stringify(m.source)} for ${m.destination} is not an absolute path`);
    const name = `${binds.length}-${basename(m.source) || 'root'}`;
    binds.push({ source: m.source, name, readonly: (m.options ?? []).includes('ro'), destination: m.destination });
    return { ...m, source: `${GUEST_SHARED_DIR}/${containerId}/volumes/${name}` };
  });
  return { guestMounts, binds };
}

const hostTarget = (root: string, containerId: string, name: string): string => join(root, containerId, 'volumes', name);

/**
 * Binds every planned source into the share. A read-only one is remounted read-only in
 * both views: a remount does not propagate, and the guest reads the slave copy.
 */
export async function shareContainerMounts(d: SharedDirs, containerId: string, binds: readonly ShareBind[]): Promise<void> {
  try {
    for (const b of binds) {
      const st = await stat(b.source).catch(() => undefined);
      if (!st) throw invalidArgument(`container ${containerId}: mount source ${b.source} for ${b.destination} does not exist`);
      const target = hostTarget(d.mounts, containerId, b.name);
      if (st.isDirectory()) await mkdir(target, { recursive: true });
      else {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, '', { flag: 'a' });
      }
      await runMount(['--rbind', b.source, target]);
      if (b.readonly) {
        await runMount(['-o', 'remount,bind,ro', target]);
        await runMount(['-o', 'remount,bind,ro', hostTarget(d.shared, containerId, b.name)]);
      }
    }
  } catch (err) {
    await unmountAll(join(d.mounts, containerId, 'volumes'));
    throw err;
  }
}
