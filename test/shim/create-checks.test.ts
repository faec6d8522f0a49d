import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Spec } from '../../src/oci/runtime-spec.js';
import { refuseHostNamespaces } from '../../src/shim/create-checks.js';

const ns = (...entries: [string, string?][]): Spec => ({
  ociVersion: '1.0.2',
  process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } },
  linux: { namespaces: entries.map(([type, path]) => ({ type: type as 'pid', ...(path ? { path } : {}) })) },
});
const ALL: [string, string?][] = [['pid'], ['ipc'], ['uts'], ['mount'], ['network']];

describe('refuseHostNamespaces', () => {
  // A private network namespace stands in for the pod's (CRI/CNI's /var/run/netns/cni-...).
  const name = `kcc-${process.pid}`;
  const podNetns = `/run/netns/${name}`;
  beforeAll(() => execFileSync('ip', ['netns', 'add', name]));
  afterAll(() => execFileSync('ip', ['netns', 'del', name]));

  it('accepts a pod sandbox whose network namespace is the pod netns CRI made', () => {
    expect(() => refuseHostNamespaces('sb', ns(['pid'], ['ipc'], ['uts'], ['mount'], ['network', podNetns]), false)).not.toThrow();
  });

  it('refuses a missing namespace entry naming what would be shared with the host', () => {
    expect(() => refuseHostNamespaces('c', ns(['pid'], ['ipc'], ['uts'], ['mount']), false)).toThrow(/container c: host networking \(--net-host\) is not supported by VM sandboxes/);
    expect(() => refuseHostNamespaces('c', ns(['network'], ['ipc'], ['uts']), true)).toThrow(/the host PID namespace/);
    expect(() => refuseHostNamespaces('c', ns(['network'], ['pid'], ['uts']), false)).toThrow(/the host IPC namespace/);
  });

  it("refuses the host's own network namespace given as a path", () => {
    const own = `/proc/${process.pid}/ns/net`;
    expect(() => refuseHostNamespaces('sb', ns(['pid'], ['ipc'], ['uts'], ['network', own]), false)).toThrow(
      `host networking (network namespace ${own} is the host's) is not supported by VM sandboxes`,
    );
    expect(() => refuseHostNamespaces('sb', ns(['pid'], ['ipc'], ['uts'], ['network', '/run/netns/none-such']), false)).toThrow(/network namespace \/run\/netns\/none-such does not exist/);
  });

  it("lets a pod's container name its sandbox's namespaces, but not a lone container", () => {
    const pod = ns(['pid', '/proc/42/ns/pid'], ['ipc', '/proc/42/ns/ipc'], ['uts', '/proc/42/ns/uts'], ['network', '/proc/42/ns/net']);
    expect(() => refuseHostNamespaces('app', pod, true)).not.toThrow();
    expect(() => refuseHostNamespaces('app', ns(['pid', '/proc/1/ns/pid'], ['ipc'], ['uts'], ['network']), false)).toThrow(
      /joining the existing pid namespace \/proc\/1\/ns\/pid is not supported/,
    );
  });

  it('still needs process args', () => {
    expect(() => refuseHostNamespaces('c', { ...ns(...ALL), process: { args: [], cwd: '/', user: { uid: 0, gid: 0 } } }, false)).toThrow(/no process args/);
  });
});
