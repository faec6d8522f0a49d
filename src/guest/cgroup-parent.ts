// Every container's cgroup lives under one parent (runc creates it on the way); runc
// removes only its own leaf (container-cgroup.ts), so the agent removes the parent on exit.
import { readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Mount points of every cgroup hierarchy (v1 controllers and/or the v2 tree), or of one type. */
export async function cgroupMounts(type?: 'cgroup' | 'cgroup2'): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => {
      const sep = f.indexOf('-');
      const fstype = f[sep + 1];
      return sep > 0 && (type ? fstype === type : fstype === 'cgroup' || fstype === 'cgroup2');
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
