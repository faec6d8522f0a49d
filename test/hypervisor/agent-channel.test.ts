// The agent channel choice (pure), the host probe with stand-in addons, and the real
// native CID allocator on this host, which has no /dev/vhost-vsock.
import { describe, it, expect } from 'vitest';
import { fstatSync, openSync, readdirSync } from 'node:fs';
import {
  FIRST_GUEST_CID,
  LAST_GUEST_CID,
  VHOST_VSOCK_DEVICE,
  chooseAgentChannel,
  probeAgentChannel,
  probeVhostVsock,
  randomStartCid,
  releaseAgentChannel,
  type VhostVsockOpener,
} from '../../src/hypervisor/agent-channel.js';
import { loadVsockBinding } from '../../src/agent/transport/native-vsock.js';

const errnoError = (code: string, syscall: string, message: string): NodeJS.ErrnoException =>
  Object.assign(new Error(message), { code, syscall });

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('chooseAgentChannel', () => {
  const device = '/dev/vhost-vsock';

  it('uses vhost-vsock with the claimed CID and descriptor when the probe got one', () => {
    expect(chooseAgentChannel({ device, vhostVsock: { ok: true, fd: 23, cid: 1234 } })).toEqual({
      kind: 'vsock',
      cid: 1234,
      vhostFd: 23,
      reason: 'vhost-vsock: /dev/vhost-vsock opened and guest CID 1234 claimed',
    });
  });

  it.each([
    [{ ok: false, stage: 'missing', code: 'ENOENT', message: '' }, 'virtio-serial: /dev/vhost-vsock does not exist (no vhost_vsock module on this host)'],
    [{ ok: false, stage: 'addon', message: 'vsock: native binding not built' }, 'virtio-serial: the vsock native addon is not available (vsock: native binding not built)'],
    [{ ok: false, stage: 'open', code: 'EACCES', message: 'vsock: open /dev/vhost-vsock failed: Permission denied' }, 'virtio-serial: /dev/vhost-vsock cannot be opened (vsock: open /dev/vhost-vsock failed: Permission denied)'],
    [{ ok: false, stage: 'cid', code: 'EADDRINUSE', message: 'every guest CID is taken' }, 'virtio-serial: no guest CID could be claimed on /dev/vhost-vsock (every guest CID is taken)'],
  ] as const)('falls back to virtio-serial and says why: %o', (vhostVsock, reason) => {
    expect(chooseAgentChannel({ device, vhostVsock })).toEqual({ kind: 'serial', reason });
  });
});

describe('probeAgentChannel with stand-in addons', () => {
  // /dev/null stands for a device node that exists.
  const device = '/dev/null';

  it('device missing: serial, and the addon is not even loaded', () => {
    let loaded = false;
    const c = probeAgentChannel({ device: '/dev/no-vhost-vsock', loadAddon: () => ((loaded = true), { openVhostVsock: () => ({ fd: 1, cid: 3 }) }) });
    expect(c).toEqual({ kind: 'serial', reason: 'virtio-serial: /dev/no-vhost-vsock does not exist (no vhost_vsock module on this host)' });
    expect(loaded).toBe(false);
  });

  it('device opens and a CID is claimed: vsock, searching from the given start', () => {
    const calls: Array<[string, number]> = [];
    const addon: VhostVsockOpener = { openVhostVsock: (p, start) => (calls.push([p, start]), { fd: 31, cid: start + 2 }) };
    expect(probeAgentChannel({ device, loadAddon: () => addon, startCid: 100 })).toMatchObject({ kind: 'vsock', cid: 102, vhostFd: 31 });
    expect(calls).toEqual([[device, 100]]);
  });

  it('the CID ioctl fails: serial, with the errno', () => {
    const addon: VhostVsockOpener = {
      openVhostVsock: () => {
        throw errnoError('EADDRINUSE', 'ioctl', 'vsock: VHOST_VSOCK_SET_GUEST_CID on /dev/null failed: Address already in use');
      },
    };
    expect(probeVhostVsock({ device, loadAddon: () => addon })).toEqual({
      ok: false,
      stage: 'cid',
      code: 'EADDRINUSE',
      message: 'vsock: VHOST_VSOCK_SET_GUEST_CID on /dev/null failed: Address already in use',
    });
    expect(probeAgentChannel({ device, loadAddon: () => addon }).reason).toMatch(/^virtio-serial: no guest CID could be claimed on \/dev\/null/);
  });

  it('the addon does not load: serial, with the loader message', () => {
    const c = probeAgentChannel({
      device,
      loadAddon: () => {
        throw new Error('vsock: native binding not built');
      },
    });
    expect(c).toEqual({ kind: 'serial', reason: 'virtio-serial: the vsock native addon is not available (vsock: native binding not built)' });
  });

  it('starts from a random CID in the guest range, as Kata does', () => {
    for (let i = 0; i < 200; i++) {
      const cid = randomStartCid();
      expect(cid).toBeGreaterThanOrEqual(FIRST_GUEST_CID);
      expect(cid).toBeLessThanOrEqual(LAST_GUEST_CID);
    }
  });

  it('releaseAgentChannel closes the descriptor of a channel whose VM is never made', () => {
    const fd = openSync('/dev/null', 'r');
    releaseAgentChannel({ kind: 'vsock', cid: 5, vhostFd: fd, reason: '' });
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
    releaseAgentChannel({ kind: 'serial', reason: '' }); // nothing to do
  });
});

describe('the native CID allocator on this host (no /dev/vhost-vsock)', () => {
  const binding = loadVsockBinding();

  it('reports ENOENT from open, with errno and a hint, and leaves nothing open', () => {
    const before = openFds();
    let err: NodeJS.ErrnoException | undefined;
    try {
      binding.openVhostVsock(VHOST_VSOCK_DEVICE, FIRST_GUEST_CID);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.code).toBe('ENOENT');
    expect(err?.errno).toBe(-2);
    expect(err?.syscall).toBe('open');
    expect(err?.message).toBe('vsock: open /dev/vhost-vsock failed: No such file or directory (the host has no vhost-vsock: load the vhost_vsock module)');
    expect(openFds()).toBe(before);
  });

  it('reports a failing VHOST_VSOCK_SET_GUEST_CID (a device that is not vhost-vsock) and closes what it opened', () => {
    const before = openFds();
    let err: NodeJS.ErrnoException | undefined;
    try {
      binding.openVhostVsock('/dev/null', 1000);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.code).toBe('ENOTTY');
    expect(err?.syscall).toBe('ioctl');
    expect(err?.message).toContain('VHOST_VSOCK_SET_GUEST_CID on /dev/null failed');
    expect(openFds()).toBe(before);
    // Only EADDRINUSE moves the search on: a wrong device fails once, not four billion times.
    expect(probeVhostVsock({ device: '/dev/null', loadAddon: () => binding, startCid: 3 })).toMatchObject({ ok: false, stage: 'cid', code: 'ENOTTY' });
  });

  it('refuses CIDs outside the guest range and arguments of the wrong type', () => {
    expect(() => binding.openVhostVsock('/dev/null', 2)).toThrow(/startCid' must be in 3\.\.4294967294/);
    expect(() => binding.openVhostVsock('/dev/null', 0xffff_ffff)).toThrow(/startCid' must be in 3\.\.4294967294/);
    expect(() => binding.openVhostVsock(3 as unknown as string, 3)).toThrow(/'path' must be a string/);
  });

  it('the real probe of this host chooses virtio-serial and says why', () => {
    const c = probeAgentChannel({ loadAddon: loadVsockBinding });
    expect(c).toEqual({ kind: 'serial', reason: 'virtio-serial: /dev/vhost-vsock does not exist (no vhost_vsock module on this host)' });
  });
});
