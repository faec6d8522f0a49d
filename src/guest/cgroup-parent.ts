// Every container's cgroup lives under one parent (runc creates it on the way); runc
// removes each container's own cgroup but not the parent, so the agent does on exit.
import { readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Mount points of every cgroup hierarchy (v1 controllers and/or the v2 tree). */
export async function cgroupMounts(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => {
      const sep = f.indexOf('-');
      return sep > 0 && (f[sep + 1] === 'cgroup' || f[sep + 1] === 'cgroup2');
    })
    .map((f) => f[4] ?? '')
    .filter(Boolean);
}

/** rmdir of the parent in every hierarchy; one still in use (or absent) stays. */
export async function removeCgroupParent(parent: string): Promise<void> {
  const rel = parent.replace(/^\/+/, '');
  if (!rel) return;
  await Promise.all((await cgroupMounts()).map((m) => rmdir(join(m, rel)).catch(() => undefined)));
}
