// Finds and removes mounts left under a directory (snapshots, task rootfs) so it can be deleted.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Decodes the octal escapes (\040 for space, ...) that /proc/self/mountinfo uses in paths. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points at or below `dir`, deepest first (the order they must be unmounted in). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescapeMountPath)
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything below `dir`, lazily when a mount is busy; returns what was unmounted. */
export function unmountUnder(dir: string): string[] {
  const done: string[] = [];
  for (const point of mountsUnder(dir)) {
    if (spawnSync('umount', [point], { stdio: 'ignore' }).status === 0) done.push(point);
    else if (spawnSync('umount', ['-l', point], { stdio: 'ignore' }).status === 0) done.push(point);
  }
  return done;
}
