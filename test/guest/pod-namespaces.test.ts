import { describe, expect, it } from 'vitest';
import { podSpec } from '../../src/guest/pod-namespaces.js';
import type * as oci from '../../src/oci/runtime-spec.js';
import { ociSpec } from './busybox-bundle.js';

/** What the host sends for a CRI container: host paths on every shared namespace. */
const criSpec = (): oci.Spec =>
  ociSpec('/r', ['sh'], {
    linux: {
      namespaces: [
        { type: 'pid', path: '/proc/4242/ns/pid' },
        { type: 'ipc', path: '/proc/4242/ns/ipc' },
        { type: 'uts', path: '/proc/4242/ns/uts' },
        { type: 'mount' },
        { type: 'network', path: '/var/run/netns/cni-1234' },
        { type: 'cgroup', path: '/proc/4242/ns/cgroup' },
      ],
    },
  });

const shared = { ipc: '/run/kata-containers/sandbox/ns/ipc', uts: '/run/kata-containers/sandbox/ns/uts' };

describe('pod namespaces in the guest', () => {
  it('points IPC and UTS at the sandbox\'s, gives a new PID namespace, removes the network entry, clears other paths', () => {
    const spec = podSpec(criSpec(), { ...shared, network: { kind: 'agent' } });
    expect(spec.linux?.namespaces).toEqual([
      { type: 'ipc', path: shared.ipc },
      { type: 'uts', path: shared.uts },
      { type: 'mount' },
      { type: 'cgroup' },
      { type: 'pid' },
    ]);
    // Joining the pod's UTS namespace: runc must not sethostname() in it.
    expect(spec.hostname).toBeUndefined();
    expect(criSpec().hostname).toBe('agent-test');
  });

  it('joins the sandbox\'s PID namespace when asked, and adds a PID entry the spec lacked', () => {
    const noPid = criSpec();
    noPid.linux!.namespaces = noPid.linux!.namespaces!.filter((n) => n.type !== 'pid');
    const spec = podSpec(noPid, { ...shared, pid: '/proc/77/ns/pid', network: { kind: 'agent' } });
    expect(spec.linux?.namespaces?.filter((n) => n.type === 'pid')).toEqual([{ type: 'pid', path: '/proc/77/ns/pid' }]);
  });

  it('keeps the spec\'s hostname and fresh IPC/UTS namespaces without a sandbox', () => {
    const spec = podSpec(criSpec(), { network: { kind: 'agent' } });
    expect(spec.hostname).toBe('agent-test');
    expect(spec.linux?.namespaces?.filter((n) => n.type === 'ipc' || n.type === 'uts')).toEqual([{ type: 'ipc' }, { type: 'uts' }]);
  });

  it('leaves IPC/UTS alone when the spec has no entry (the host\'s, i.e. the VM\'s)', () => {
    const spec = ociSpec('/r', ['sh'], { linux: { namespaces: [{ type: 'mount' }] } });
    expect(podSpec(spec, { ...shared, network: { kind: 'agent' } }).linux?.namespaces).toEqual([{ type: 'mount' }, { type: 'pid' }]);
    expect(podSpec(spec, { ...shared, network: { kind: 'agent' } }).hostname).toBe('agent-test');
  });

  it('test mode: joins the stand-in network namespace, or makes a new one instead of the host\'s', () => {
    expect(podSpec(criSpec(), { ...shared, network: { kind: 'join', path: '/run/netns/t' } }).linux?.namespaces).toContainEqual({ type: 'network', path: '/run/netns/t' });
    expect(podSpec(criSpec(), { network: { kind: 'new' } }).linux?.namespaces).toContainEqual({ type: 'network' });
    const hostNet = ociSpec('/r', ['sh'], { linux: { namespaces: [{ type: 'pid' }] } });
    expect(podSpec(hostNet, { network: { kind: 'new' } }).linux?.namespaces).toEqual([{ type: 'pid' }]);
  });
});
