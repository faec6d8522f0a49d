// Unmounting a bundle's rootfs after a crash. Node has no umount(2), so the util-linux
// tool does it; /proc/self/mountinfo says whether anything is still mounted there.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Stacked mounts are peeled one by one (Kata's UnmountAll loops the same way). */
const MAX_LAYERS = 16;

/** Decodes mountinfo's octal escapes (\040 for a space ...). */
function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount points from mountinfo text (field 5). */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined && p !== '')
    .map(unescape);
}

export async function isMountPoint(path: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return mountPoints(text).includes(path);
}

/** Unmounts every layer mounted on `path`, lazily if busy; returns how many were removed. */
export async function unmountAll(path: string): Promise<number> {
  let count = 0;
  while (count < MAX_LAYERS && (await isMountPoint(path))) {
    try {
      await run('umount', [path]);
    } catch {
      await run('umount', ['-l', path]);
    }
    count++;
  }
  return count;
}
