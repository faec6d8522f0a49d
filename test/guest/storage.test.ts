import { describe, expect, it } from 'vitest';
import { planStorage } from '../../src/guest/storage.js';

describe('CreateSandbox storages', () => {
  it('mounts the kataShared virtio-fs share at its mount point', () => {
    expect(
      planStorage({ driver: 'virtio-fs', source: 'kataShared', fstype: 'virtiofs', mountPoint: '/run/kata-containers/shared/containers', options: ['nodev'] }),
    ).toEqual({ source: 'kataShared', mountPoint: '/run/kata-containers/shared/containers', fstype: 'virtiofs', options: ['nodev'] });
    expect(planStorage({ driver: 'virtio-fs', source: 'kataShared', mountPoint: '/m' }).fstype).toBe('virtiofs');
  });

  it('mounts an ephemeral storage (the pod\'s /dev/shm) as a tmpfs', () => {
    const shm = { driver: 'ephemeral', source: 'shm', fstype: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=67108864'], mountPoint: '/run/kata-containers/sandbox/shm' };
    expect(planStorage(shm)).toEqual({ source: 'shm', mountPoint: '/run/kata-containers/sandbox/shm', fstype: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=67108864'] });
    expect(planStorage({ driver: 'ephemeral', mountPoint: '/m' })).toEqual({ source: 'tmpfs', mountPoint: '/m', fstype: 'tmpfs', options: [] });
    expect(() => planStorage({ ...shm, fstype: 'ext4' })).toThrow(/ephemeral storage at \/run\/kata-containers\/sandbox\/shm: fstype "ext4" is not supported \(only tmpfs\)/);
  });

  it('refuses what it cannot mount, saying why', () => {
    expect(() => planStorage({ driver: 'blk', source: '/dev/vdb', mountPoint: '/m' })).toThrow(/storage driver "blk" is not supported \(supported: virtio-fs, ephemeral\)/);
    expect(() => planStorage({ driver: 'virtio-fs', source: 'kataShared', mountPoint: 'rel' })).toThrow(/not absolute/);
    expect(() => planStorage({ driver: 'virtio-fs', mountPoint: '/m' })).toThrow(/no source/);
  });
});
