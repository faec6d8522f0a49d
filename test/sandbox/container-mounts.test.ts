// Real bind mounts (root): a container's volumes reach the share's guest-facing view,
// read-only ones stay read-only there, and releasing them never touches the host files.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountPoints } from '../../src/sandbox/mount-table.js';
import { shareContainerMounts } from '../../src/sandbox/container-mounts.js';
import { releaseContainerShare, setupSharedDirs, sharedDirs, teardownSharedDirs } from '../../src/sandbox/shared-fs.js';

const mountedUnder = (dir: string): string[] => mountPoints(readFileSync('/proc/self/mountinfo', 'utf8')).filter((p) => p.startsWith(dir));

describe('shareContainerMounts', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cmounts-'));
  const host = join(tmp, 'host');
  const d = sharedDirs('sb', join(tmp, 'share'));
  const guestView = (name: string): string => join(d.shared, 'c1', 'volumes', name);

  beforeAll(async () => {
    mkdirSync(join(host, 'vol'), { recursive: true });
    mkdirSync(join(host, 'ro'), { recursive: true });
    writeFileSync(join(host, 'hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(host, 'ro', 'keep.txt'), 'original');
    await setupSharedDirs(d);
  });

  afterAll(async () => {
    await teardownSharedDirs(d);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('binds directories and files into the guest view, shared both ways', async () => {
    await shareContainerMounts(d, 'c1', [
      { source: join(host, 'vol'), name: '0-vol', readonly: false, destination: '/vol' },
      { source: join(host, 'hosts'), name: '1-hosts', readonly: false, destination: '/etc/hosts' },
      { source: join(host, 'ro'), name: '2-ro', readonly: true, destination: '/ro' },
    ]);
    expect(readFileSync(guestView('1-hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    writeFileSync(join(guestView('0-vol'), 'from-guest'), 'g');
    expect(readFileSync(join(host, 'vol', 'from-guest'), 'utf8')).toBe('g');
    writeFileSync(join(host, 'vol', 'from-host'), 'h');
    expect(readFileSync(join(guestView('0-vol'), 'from-host'), 'utf8')).toBe('h');
  });

  it('keeps a read-only volume read-only in both views of the share', () => {
    expect(readFileSync(join(guestView('2-ro'), 'keep.txt'), 'utf8')).toBe('original');
    expect(() => writeFileSync(join(guestView('2-ro'), 'keep.txt'), 'changed')).toThrow(/EROFS/);
    expect(() => writeFileSync(join(d.mounts, 'c1', 'volumes', '2-ro', 'new'), 'x')).toThrow(/EROFS/);
  });

  it('releasing the container unmounts everything and leaves the host files', async () => {
    await releaseContainerShare(d, 'c1');
    expect(mountedUnder(join(d.mounts, 'c1'))).toEqual([]);
    expect(mountedUnder(join(d.shared, 'c1'))).toEqual([]);
    expect(existsSync(join(d.mounts, 'c1'))).toBe(false);
    expect(readFileSync(join(host, 'vol', 'from-guest'), 'utf8')).toBe('g');
    expect(readFileSync(join(host, 'ro', 'keep.txt'), 'utf8')).toBe('original');
    expect(readFileSync(join(host, 'hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
  });

  it('refuses a missing source by name and leaves nothing mounted', async () => {
    await expect(
      shareContainerMounts(d, 'c2', [
        { source: join(host, 'vol'), name: '0-vol', readonly: false, destination: '/vol' },
        { source: join(host, 'missing'), name: '1-missing', readonly: false, destination: '/m' },
      ]),
    ).rejects.toThrow(`container c2: mount source ${join(host, 'missing')} for /m does not exist`);
    expect(mountedUnder(join(d.mounts, 'c2'))).toEqual([]);
  });
});
