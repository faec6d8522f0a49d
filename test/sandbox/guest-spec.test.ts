import { describe, expect, it } from 'vitest';
import type { Spec } from '../../src/oci/runtime-spec.js';
import { planContainerMounts, GUEST_SHM_DIR } from '../../src/sandbox/container-mounts.js';
import { guestSpec } from '../../src/sandbox/guest-spec.js';

// The shape containerd 1.6's CRI plugin gives an app container of a pod with a shared PID namespace.
const criSpec = (): Spec => ({
  ociVersion: '1.0.2',
  process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 }, apparmorProfile: 'cri-containerd.apparmor.d', selinuxLabel: 'x' },
  root: { path: 'rootfs', readonly: false },
  hooks: { createRuntime: [{ path: '/usr/local/bin/nerdctl', args: ['nerdctl', 'internal', 'oci-hook'] }] },
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] },
    { destination: '/etc/hosts', type: 'bind', source: '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/sb/hosts', options: ['rbind', 'rprivate', 'rw'] },
    { destination: '/dev/shm', type: 'bind', source: '/run/containerd/io.containerd.grpc.v1.cri/sandboxes/sb/shm', options: ['rbind', 'rprivate', 'rw'] },
    { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] },
    { destination: '/dev/termination-log', type: 'bind', source: '/var/lib/kubelet/pods/u/containers/c/abc', options: ['rbind', 'rw'] },
  ],
  linux: {
    namespaces: [
      { type: 'pid', path: '/proc/77/ns/pid' },
      { type: 'ipc', path: '/proc/77/ns/ipc' },
      { type: 'uts', path: '/proc/77/ns/uts' },
      { type: 'mount' },
      { type: 'network', path: '/proc/77/ns/net' },
    ],
    resources: { cpu: { quota: 50000, period: 100000, cpus: '0-1', mems: '0' } },
    seccomp: { defaultAction: 'SCMP_ACT_ERRNO' },
    mountLabel: 'y',
  },
});

describe('planContainerMounts', () => {
  it('shares host bind mounts through the share, /dev/shm becomes the pod tmpfs, others pass through', () => {
    const plan = planContainerMounts('c1', criSpec().mounts!);
    expect(plan.binds).toEqual([
      { source: '/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/sb/hosts', name: '0-hosts', readonly: false, destination: '/etc/hosts' },
      { source: '/srv/data', name: '1-data', readonly: true, destination: '/data' },
      { source: '/var/lib/kubelet/pods/u/containers/c/abc', name: '2-abc', readonly: false, destination: '/dev/termination-log' },
    ]);
    expect(plan.guestMounts.map((m) => [m.destination, m.source, m.options])).toEqual([
      ['/proc', 'proc', ['nosuid']],
      ['/etc/hosts', '/run/kata-containers/shared/containers/c1/volumes/0-hosts', ['rbind', 'rprivate', 'rw']],
      ['/dev/shm', GUEST_SHM_DIR, ['rbind', 'rprivate', 'rw']],
      ['/data', '/run/kata-containers/shared/containers/c1/volumes/1-data', ['rbind', 'ro']],
      ['/dev/termination-log', '/run/kata-containers/shared/containers/c1/volumes/2-abc', ['rbind', 'rw']],
    ]);
  });

  it('leaves binds of the VM\'s own /dev, /proc, /sys alone and refuses a relative source', () => {
    expect(planContainerMounts('c', [{ destination: '/dev/null2', type: 'bind', source: '/dev/null', options: ['rbind'] }]).binds).toEqual([]);
    expect(() => planContainerMounts('c', [{ destination: '/x', type: 'bind', source: 'rel/dir', options: ['rbind'] }])).toThrow(/container c: mount source "rel\/dir" for \/x is not an absolute path/);
  });
});

describe('guestSpec', () => {
  const spec = criSpec();
  const mounts = planContainerMounts('c1', spec.mounts!).guestMounts;
  const g = guestSpec(spec, { containerId: 'c1', mounts, disableGuestSeccomp: true });

  it('roots the container in the share and uses the rewritten mounts', () => {
    expect(g.spec.root).toEqual({ path: '/run/kata-containers/shared/containers/c1/rootfs', readonly: false });
    expect(g.spec.mounts).toEqual(mounts);
  });

  it('drops the network namespace, clears host namespace paths and asks for the sandbox PID namespace', () => {
    expect(g.spec.linux!.namespaces).toEqual([{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }]);
    expect(g.sandboxPidns).toBe(true);
    const own = guestSpec({ ...spec, linux: { ...spec.linux, namespaces: [{ type: 'pid' }, { type: 'network', path: '/var/run/netns/cni-1' }] } }, { containerId: 'c1', mounts, disableGuestSeccomp: true });
    expect(own.sandboxPidns).toBe(false);
    expect(own.spec.linux!.namespaces).toEqual([{ type: 'pid' }]);
  });

  it('removes what only exists on the host: hooks, LSM labels, host CPU numbers; seccomp per configuration', () => {
    expect(g.spec.hooks).toBeUndefined();
    expect(g.spec.process!.apparmorProfile).toBeUndefined();
    expect(g.spec.process!.selinuxLabel).toBeUndefined();
    expect(g.spec.linux!.mountLabel).toBeUndefined();
    expect(g.spec.linux!.resources!.cpu).toEqual({ quota: 50000, period: 100000, cpus: undefined, mems: undefined });
    expect(g.spec.linux!.seccomp).toBeUndefined();
    expect(guestSpec(spec, { containerId: 'c1', mounts, disableGuestSeccomp: false }).spec.linux!.seccomp).toEqual({ defaultAction: 'SCMP_ACT_ERRNO' });
  });

  it('does not change the host spec', () => {
    expect(spec).toEqual(criSpec());
  });
});
