// A container's runc bundle in the agent's state dir: config.json written from the
// checked spec, with the paths that only make sense inside the guest filled in.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type * as oci from '../oci/runtime-spec.js';
import { invalidArgument } from '../errors/index.js';
import { runcCgroup } from './container-cgroup.js';
import type { ContainerId } from './ids.js';

export interface BundlePlacement {
  /** Where relative root paths live: `<sharedDir>/<container id>/<root.path>`. */
  sharedDir: string;
  /** Every container's cgroup is `<cgroupParent>/<container id>`, runc's a leaf in it (container-cgroup.ts). */
  cgroupParent: string;
}

/**
 * The spec runc gets. The host's cgroupsPath names a host cgroup (possibly in the
 * systemd "slice:prefix:name" form runc's cgroupfs driver rejects), so the guest
 * places every container under its own parent instead.
 */
export function guestSpec(id: ContainerId, spec: oci.Spec, where: BundlePlacement): oci.Spec {
  const rootPath = spec.root?.path ?? '';
  return {
    ...spec,
    root: { ...spec.root, path: isAbsolute(rootPath) ? rootPath : join(where.sharedDir, id, rootPath) },
    linux: { ...spec.linux, cgroupsPath: runcCgroup(where.cgroupParent, id) },
  };
}

/** Refuses a root that is missing or not a directory (INVALID_ARGUMENT). */
export async function checkRootfs(id: ContainerId, rootPath: string): Promise<void> {
  const st = await stat(rootPath).catch(() => undefined);
  if (!st) throw invalidArgument(`container ${id}: root path ${rootPath} does not exist`);
  if (!st.isDirectory()) throw invalidArgument(`container ${id}: root path ${rootPath} is not a directory`);
}

export async function writeBundle(dir: string, spec: oci.Spec): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(join(dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
}

export async function removeBundle(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
