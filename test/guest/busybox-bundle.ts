// Test support for the guest agent: a busybox root filesystem in a temp dir and the
// OCI spec a host would send for it (what `runc spec` writes, without a terminal).
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { grpc } from '../../src/gen/proto.js';
import { specToGrpc } from '../../src/oci/grpc-spec.js';
import type * as oci from '../../src/oci/runtime-spec.js';

const APPLETS = ['sh', 'echo', 'cat', 'sleep', 'ls', 'id', 'uname', 'true', 'false', 'nproc', 'head', 'tr', 'tty', 'stty', 'kill', 'ps', 'wc', 'readlink', 'hostname', 'grep', 'mount'];

/** <dir>/bin/busybox from busybox-static plus applet links and the usual mount points. */
export function makeBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'root']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a));
  return dir;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function ociProcess(args: string[], extra: Partial<oci.Process> = {}): oci.Process {
  return {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args,
    env: ['PATH=/bin', 'TERM=xterm'],
    cwd: '/',
    capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
    ...extra,
  };
}

export function ociSpec(rootPath: string, args: string[], extra: { process?: Partial<oci.Process>; linux?: Partial<oci.Linux> } = {}): oci.Spec {
  return {
    ociVersion: '1.0.2-dev',
    process: ociProcess(args, extra.process),
    root: { path: rootPath, readonly: false },
    hostname: 'agent-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/sys', '/proc/sysrq-trigger'],
      ...extra.linux,
    },
  };
}

export function grpcSpec(rootPath: string, args: string[], extra?: Parameters<typeof ociSpec>[2]): grpc.Spec.$Properties {
  return specToGrpc(ociSpec(rootPath, args, extra));
}
