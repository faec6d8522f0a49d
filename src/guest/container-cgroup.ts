// A container's cgroups: the agent's `<parent>/<id>`, kept until RemoveContainer, and
// runc's `<parent>/<id>/runc` inside it. A foreground runc removes its cgroup as soon as
// the init exits (runc 1.1.5 removes it even when it did not create it), and with it
// the kernel's OOM count. On cgroup v2 memory.events is hierarchical (the guest mounts
// cgroup2 without memory_localevents), so the agent's cgroup keeps the count of every
// kill in runc's, for as long as the agent wants to read it.
import { readFile, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { cgroupMounts } from './cgroup-parent.js';

/** The leaf runc gets; its limits, stats and freezer are runc's as before. */
export const RUNC_LEAF = 'runc';

/** The agent's cgroup for a container, relative to the hierarchy root. */
export function containerCgroup(parent: string, id: string): string {
  return posix.join('/', parent, id);
}

/** The cgroupsPath runc gets. */
export function runcCgroup(parent: string, id: string): string {
  return posix.join(containerCgroup(parent, id), RUNC_LEAF);
}

/** `oom_kill` of a cgroup v2 memory.events file; undefined when the line is missing. Pure. */
export function parseOomKill(memoryEvents: string): number | undefined {
  const m = /^oom_kill (\d+)$/m.exec(memoryEvents);
  return m ? Number(m[1]) : undefined;
}

/**
 * The kills counted in `cgroup` and below: cgroup v2 memory.events, under `roots` (the
 * cgroup2 mounts). undefined when there is no such file: cgroup v1 (test mode on a host,
 * where the hybrid unified tree has no memory controller), or the cgroup is gone.
 */
export async function readOomKills(cgroup: string, roots?: string[]): Promise<number | undefined> {
  for (const root of roots ?? (await cgroupMounts('cgroup2'))) {
    const text = await readFile(join(root, cgroup, 'memory.events'), 'utf8').catch(() => undefined);
    const count = text === undefined ? undefined : parseOomKill(text);
    if (count !== undefined) return count;
  }
  return undefined;
}

/** rmdir of `cgroup` in every hierarchy; returns the directories that could not be removed. */
export async function removeCgroup(cgroup: string, roots?: string[]): Promise<string[]> {
  const left: string[] = [];
  await Promise.all(
    (roots ?? (await cgroupMounts())).map(async (root) => {
      const dir = join(root, cgroup);
      await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') left.push(`${dir}: ${err.code ?? err.message}`);
      });
    }),
  );
  return left;
}
