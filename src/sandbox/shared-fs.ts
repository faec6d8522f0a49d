// The host side of the virtio-fs share. Containers' root filesystems are mounted under
// `mounts/`, a shared mount point; `shared/` is a read-only slave bind of it and is
// what virtiofsd serves. Mounts made after the VM booted propagate into virtiofsd's
// namespace, so containers can join a running sandbox.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isMountPoint, runMount as mount, unmountAll, unmountAndRemove } from './mount-table.js';

/** A mount as containerd hands it over in CreateTaskRequest.rootfs. */
export interface RootfsMount {
  readonly type: string;
  readonly source: string;
  readonly options: readonly string[];
}

/** Where the guest mounts the share (Kata's): `<this>/<container>/rootfs`, `.../volumes/`. */
export const GUEST_SHARED_DIR = '/run/kata-containers/shared/containers';

export const SANDBOXES_ROOT = '/run/kata-containers/shared/sandboxes';

export interface SharedDirs {
  readonly root: string;
  readonly mounts: string;
  /** virtiofsd's source directory. */
  readonly shared: string;
}

export const sharedDirs = (sandboxId: string, root = SANDBOXES_ROOT): SharedDirs => ({
  root: join(root, sandboxId),
  mounts: join(root, sandboxId, 'mounts'),
  shared: join(root, sandboxId, 'shared'),
});

export async function setupSharedDirs(d: SharedDirs): Promise<void> {
  await mkdir(d.mounts, { recursive: true, mode: 0o700 });
  await mkdir(d.shared, { recursive: true, mode: 0o700 });
  if (!(await isMountPoint(d.mounts))) {
    await mount(['--bind', d.mounts, d.mounts]);
    await mount(['--make-shared', d.mounts]);
  }
  if (!(await isMountPoint(d.shared))) {
    await mount(['--bind', '-o', 'ro', d.mounts, d.shared]);
    await mount(['--make-slave', d.shared]);
  }
}

export async function teardownSharedDirs(d: SharedDirs): Promise<void> {
  await unmountAll(d.shared);
  await unmountAll(d.mounts);
  await unmountAndRemove(d.root);
}

/** Where a container's root filesystem appears on the host, and in the guest below the share. */
export const containerRootfs = (d: SharedDirs, containerId: string): string => join(d.mounts, containerId, 'rootfs');

/**
 * Mounts the container's root filesystem into the share: containerd's mounts (e.g. an
 * overlay snapshot) when given, else a bind of the bundle's own rootfs directory.
 */
export async function mountContainerRootfs(d: SharedDirs, containerId: string, rootfs: readonly RootfsMount[], bundleRootfs: string): Promise<string> {
  const target = containerRootfs(d, containerId);
  await mkdir(target, { recursive: true });
  try {
    if (rootfs.length === 0) {
      await mount(['--rbind', bundleRootfs, target]);
    } else {
      for (const m of rootfs) {
        if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) {
          await mount(['--rbind', ...(m.options.includes('ro') ? ['-o', 'ro'] : []), m.source, target]);
        } else {
          await mount(['-t', m.type, ...(m.options.length ? ['-o', m.options.join(',')] : []), m.source, target]);
        }
      }
    }
  } catch (err) {
    await releaseContainerShare(d, containerId);
    throw err;
  }
  return target;
}

/** Releases everything of the container in the share: its rootfs and its shared mounts. */
export async function releaseContainerShare(d: SharedDirs, containerId: string): Promise<void> {
  await unmountAndRemove(join(d.mounts, containerId));
}
