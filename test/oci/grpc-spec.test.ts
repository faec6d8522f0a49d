import { describe, it, expect } from 'vitest';
import { grpc } from '../../src/gen/proto.js';
import { specToGrpc, specFromGrpc, resourcesToGrpc, resourcesFromGrpc, processToGrpc, processFromGrpc } from '../../src/oci/grpc-spec.js';
import type { Spec } from '../../src/oci/runtime-spec.js';

/** Shaped like what `ctr run` writes into a bundle's config.json. */
const ctrSpec: Spec = {
  ociVersion: '1.0.2-dev',
  process: {
    terminal: true,
    consoleSize: { height: 40, width: 120 },
    user: { uid: 1000, gid: 1000, additionalGids: [10, 20] },
    args: ['sh', '-c', 'echo hello'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
    cwd: '/work',
    capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN', 'CAP_KILL'] },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
    oomScoreAdj: -500,
  },
  root: { path: 'rootfs', readonly: true },
  hostname: 'c1',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  ],
  hooks: { createContainer: [{ path: '/bin/hook', args: ['hook', 'x'], timeout: 5 }] },
  annotations: { 'io.kubernetes.cri.container-type': 'container', a: 'b' },
  linux: {
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    sysctl: { 'net.ipv4.ip_forward': '1' },
    resources: {
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
      memory: { limit: 536870912, swap: 536870912 },
      cpu: { shares: 1024, quota: 150000, period: 100000, cpus: '0-1' },
      pids: { limit: 100 },
      hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
    },
    cgroupsPath: '/default/c1',
    namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: '/var/run/netns/x' }],
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }],
    seccomp: {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      ],
    },
    maskedPaths: ['/proc/kcore'],
    readonlyPaths: ['/proc/sys'],
    rootfsPropagation: 'rprivate',
  },
};

describe('OCI spec <-> grpc.Spec', () => {
  it('survives a round trip through the wire encoding', () => {
    const bytes = grpc.Spec.encode(specToGrpc(ctrSpec)).finish();
    const back = specFromGrpc(grpc.Spec.decode(bytes));
    expect(back).toEqual(ctrSpec);
  });

  it('uses Kata field names and numbers on the wire', () => {
    const g = grpc.Spec.decode(grpc.Spec.encode(specToGrpc(ctrSpec)).finish());
    expect(g.Process?.Args).toEqual(['sh', '-c', 'echo hello']);
    expect(g.Process?.User?.UID).toBe(1000);
    expect(g.Linux?.Resources?.CPU?.Quota).toBe(150000);
    expect(g.Linux?.Resources?.Memory?.Limit).toBe(536870912);
    expect(g.Linux?.Namespaces?.map((n) => n.Type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
    expect(g.Linux?.Seccomp?.Syscalls?.[1]?.errnoret).toBe(1);
    // Root.Path is field 1 inside Spec field 3: tag 0x1a, then the Root message with tag 0x0a.
    const root = grpc.Root.encode({ Path: 'rootfs' }).finish();
    expect(Array.from(root.slice(0, 2))).toEqual([0x0a, 6]);
  });

  it('keeps negative values (unlimited memory) and drops unset ones', () => {
    const r = resourcesFromGrpc(grpc.LinuxResources.decode(grpc.LinuxResources.encode(resourcesToGrpc({ memory: { limit: -1 }, cpu: { quota: -1, period: 100000 } })).finish()));
    expect(r).toEqual({ memory: { limit: -1 }, cpu: { quota: -1, period: 100000 } });
    expect(resourcesFromGrpc(resourcesToGrpc({}))).toEqual({});
  });

  it('converts an exec process on its own, defaulting cwd to /', () => {
    const p = processFromGrpc(grpc.Process.decode(grpc.Process.encode(processToGrpc({ user: { uid: 0, gid: 0 }, args: ['ls'], cwd: '' })).finish()));
    expect(p).toEqual({ user: { uid: 0, gid: 0 }, args: ['ls'], cwd: '/' });
  });
});
