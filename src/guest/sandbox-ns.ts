// The pod's shared IPC and UTS namespaces: created at CreateSandbox and kept alive by
// bind mounts on files (busybox unshare --ipc=FILE --uts=FILE), so they outlive the
// process that made them and every container can join them by path.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../errors/index.js';
import { mountedPaths } from './storage.js';
import { runTool } from './tool.js';

export interface SharedNamespaces {
  ipc: string;
  uts: string;
}

/** What sethostname accepts and a pod's hostname can be: letters, digits, '-', '.' (max 64). */
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$/;

export const sharedNamespacePaths = (dir: string): SharedNamespaces => ({ ipc: join(dir, 'ipc'), uts: join(dir, 'uts') });

/** New IPC and UTS namespaces pinned under `dir`, the UTS one named `hostname` (if given). */
export async function createSharedNamespaces(dir: string, hostname: string, busybox = 'busybox'): Promise<SharedNamespaces> {
  if (hostname && !HOSTNAME.test(hostname)) throw invalidArgument(`hostname ${JSON.stringify(hostname)} is not a valid host name`);
  // An agent restarted in a live VM may find the previous sandbox's files.
  await removeSharedNamespaces(dir);
  const ns = sharedNamespacePaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await Promise.all([writeFile(ns.ipc, ''), writeFile(ns.uts, '')]);
  const set = hostname ? [busybox, 'hostname', hostname] : [busybox, 'true'];
  try {
    await runTool(busybox, ['unshare', `--ipc=${ns.ipc}`, `--uts=${ns.uts}`, ...set]);
  } catch (err) {
    await removeSharedNamespaces(dir);
    throw err;
  }
  return ns;
}

/** Unmounts the namespace files (the namespaces end with their last user) and removes `dir`. */
export async function removeSharedNamespaces(dir: string): Promise<void> {
  const mounted = await mountedPaths();
  const ns = sharedNamespacePaths(dir);
  for (const file of [ns.ipc, ns.uts]) if (mounted.has(file)) await runTool('umount', [file]);
  await rm(dir, { recursive: true, force: true });
}
