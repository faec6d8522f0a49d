// The host's mount table, read from /proc/self/mountinfo, mounting and unmounting. Node
// has no mount(2) or umount(2), so the util-linux tools do it.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Code, RuntimeError } from '../errors/index.js';

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

/** Runs util-linux mount; a failure names the arguments and mount's own message. */
export async function runMount(args: readonly string[]): Promise<void> {
  try {
    await run('mount', [...args]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new RuntimeError(Code.INTERNAL, `mount ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
  }
}

/**
 * Unmounts everything at and below `path`, then removes it. Refuses to remove while a
 * mount is left: below it may be a bind of a host volume, whose files must survive.
 */
export async function unmountAndRemove(path: string): Promise<void> {
  await unmountAll(path);
  const left = (await readMountPoints()).filter((p) => p === path || p.startsWith(`${path}/`));
  if (left.length > 0) throw new RuntimeError(Code.INTERNAL, `cannot remove ${path}: still mounted: ${left.join(', ')}`);
  await rm(path, { recursive: true, force: true });
}
