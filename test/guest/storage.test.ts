import { describe, expect, it } from 'vitest';
import { planStorage } from '../../src/guest/storage.js';

describe('CreateSandbox storages', () => {
  it('mounts the kataShared virtio-fs share at its mount point', () => {
    expect(
      planStorage({ driver: 'virtio-fs', source: 'kataShared', fstype: 'virtiofs', mountPoint: '/run/kata-containers/shared/containers', options: ['nodev'] }),
    ).toEqual({ source: 'kataShared', mountPoint: '/run/kata-containers/shared/containers', fstype: 'virtiofs', options: ['nodev'] });
    expect(planStorage({ driver: 'virtio-fs', source: 'kataShared', mountPoint: '/m' }).fstype).toBe('virtiofs');
  });

  it('refuses what it cannot mount, saying why', () => {
    expect(() => planStorage({ driver: 'blk', source: '/dev/vdb', mountPoint: '/m' })).toThrow(/storage driver "blk" is not supported/);
    expect(() => planStorage({ driver: 'virtio-fs', source: 'kataShared', mountPoint: 'rel' })).toThrow(/not absolute/);
    expect(() => planStorage({ driver: 'virtio-fs', mountPoint: '/m' })).toThrow(/no source/);
  });
});
