// The host's mount table, read from /proc/self/mountinfo, and unmounting. Node has no
// umount(2), so the util-linux tool does it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Decodes mountinfo's octal escapes (\040 for a space ...). */
function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points from mountinfo text (field 5), one entry per mount (stacked ones repeat). */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined && p !== '')
    .map(unescape);
}

const readMountPoints = async (): Promise<string[]> => mountPoints(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));

export async function isMountPoint(path: string): Promise<boolean> {
  return (await readMountPoints()).includes(path);
}

/**
 * Unmounts everything at and below `path`, deepest first, every stacked layer, lazily
 * if busy. Returns how many mounts were removed.
 */
export async function unmountAll(path: string): Promise<number> {
  const points = (await readMountPoints()).filter((p) => p === path || p.startsWith(`${path}/`)).sort((a, b) => b.length - a.length);
  for (const p of points) {
    await run('umount', [p]).catch(() => run('umount', ['-l', p]).catch(() => undefined));
  }
  return points.length;
}
