// A pod through grpc.AgentService, in Kata's order: the network first (in a private
// network namespace, --netns, standing in for the VM's), then CreateSandbox with the
// pod's hostname and its /dev/shm, then containers that share the pod's IPC and UTS
// namespaces and, on request, the first container's PID namespace.
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { types } from '../../src/gen/proto.js';
import { mountedPaths } from '../../src/guest/storage.js';
import { specToGrpc } from '../../src/oci/grpc-spec.js';
import { Code } from '../../src/errors/index.js';
import { makeBusyboxRootfs, ociSpec } from './busybox-bundle.js';
import { expectCode, readToEnd, startHarness, type Harness } from './agent-harness.js';

const NS = `kgp-${process.pid}`;
const NS_PATH = `/run/netns/${NS}`;
const NIC_MAC = '02:00:00:4b:50:01';

describe('guest agent: a pod', () => {
  let h: Harness;
  let rootfs: string;
  let shm: string;

  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'add', 'kgp0', 'address', NIC_MAC, 'type', 'veth', 'peer', 'name', 'kgp1']);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'kgp1', 'up']);
    h = await startHarness(['--netns', NS_PATH]);
    rootfs = makeBusyboxRootfs(join(h.dir, 'rootfs'));
    shm = join(h.sandboxDir, 'shm');
  });

  afterAll(async () => {
    await h?.close();
    execFileSync('ip', ['netns', 'del', NS]);
  });

  /** A container of the pod: /dev/shm bound from the pod's tmpfs, as the host shim rewrites it. */
  const create = (id: string, args: string[], sandboxPidns = false): Promise<unknown> => {
    const spec = ociSpec(rootfs, args);
    spec.mounts = (spec.mounts ?? []).map((m) => (m.destination === '/dev/shm' ? { destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rw'] } : m));
    return h.agent.CreateContainer({ containerId: id, execId: id, OCI: specToGrpc(spec), sandboxPidns });
  };
  const run = async (id: string, args: string[], sandboxPidns = false): Promise<string> => {
    await create(id, args, sandboxPidns);
    await h.agent.StartContainer({ containerId: id });
    const out = (await readToEnd(h, id, id)).toString();
    expect((await h.agent.WaitProcess({ containerId: id, execId: id })).status, out).toBe(0);
    await h.agent.RemoveContainer({ containerId: id });
    return out;
  };

  it('configures the network before the sandbox exists (Kata\'s boot order)', async () => {
    const iface = await h.agent.UpdateInterface({
      interface: { hwAddr: NIC_MAC.toUpperCase(), name: 'eth0', mtu: 1420, IPAddresses: [{ family: types.IPFamily.v4, address: '10.88.0.5', mask: '16' }], devicePath: '02/00', type: 'veth' },
    });
    expect(iface).toMatchObject({ name: 'eth0', device: 'eth0', hwAddr: NIC_MAC, mtu: 1420, devicePath: '02/00', type: 'veth' });
    // The resulting state, so with the link-local address the kernel added once the link came up.
    expect(iface.IPAddresses).toEqual(expect.arrayContaining([expect.objectContaining({ address: '10.88.0.5', mask: '16' })]));
    expect(iface.rawFlags & 0x1).toBe(1); // IFF_UP

    const routes = await h.agent.UpdateRoutes({ routes: { Routes: [{ dest: '', gateway: '10.88.0.1', device: 'eth0' }, { dest: '10.99.0.0/24', device: 'eth0', scope: 253 }] } });
    expect(routes.Routes.map((r) => [r.dest, r.gateway, r.device])).toEqual([
      ['', '10.88.0.1', 'eth0'],
      ['10.99.0.0/24', '', 'eth0'],
    ]);
    await h.agent.AddARPNeighbors({ neighbors: { ARPNeighbors: [{ toIPAddress: { address: '10.88.0.9' }, device: 'eth0', lladdr: 'aa:bb:cc:dd:ee:ff' }] } });

    const listed = await h.agent.ListInterfaces({});
    expect(listed.Interfaces.map((i) => i.name)).toEqual(expect.arrayContaining(['lo', 'eth0', 'kgp1']));
    expect((await h.agent.ListRoutes({})).Routes).toEqual(expect.arrayContaining([expect.objectContaining({ dest: '', gateway: '10.88.0.1', device: 'eth0' })]));

    await expectCode(h.agent.UpdateInterface({ interface: { name: 'eth0', IPAddresses: [] } }), Code.INVALID_ARGUMENT, /hwAddr is empty/);
    await expectCode(
      h.agent.AddARPNeighbors({ neighbors: { ARPNeighbors: [{ toIPAddress: { family: types.IPFamily.v6, address: 'fd00::9' }, device: 'eth0', lladdr: 'aa:bb:cc:dd:ee:ff' }] } }),
      Code.UNIMPLEMENTED,
      /ARPNeighbors\[0\] \(fd00::9/,
    );
  });

  it('creates the sandbox: lo up, the pod\'s namespaces, /dev/shm as an ephemeral tmpfs', async () => {
    await h.agent.CreateSandbox({
      sandboxId: 'pod1',
      hostname: 'pod-a',
      storages: [{ driver: 'ephemeral', source: 'shm', fstype: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'mode=1777', 'size=67108864'], mountPoint: shm }],
    });
    const lo = (JSON.parse(execFileSync('ip', ['-n', NS, '-j', 'link', 'show', 'lo'], { encoding: 'utf8' })) as { flags: string[] }[])[0];
    expect(lo?.flags).toContain('UP');
    const mounts = await mountedPaths();
    expect(mounts.has(shm)).toBe(true);
    expect(mounts.has(join(h.sandboxDir, 'ns/ipc')) && mounts.has(join(h.sandboxDir, 'ns/uts'))).toBe(true);
    const shmLine = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === shm) ?? '';
    // tmpfs prints no mode when it is its default, 1777.
    expect(shmLine).toMatch(/ rw,nosuid,nodev,noexec,\S* - tmpfs shm rw,size=65536k$/);
  });

  describe('its containers', () => {
    let pausePid: number;

    it('refuses sandbox_pidns until the first container runs (FAILED_PRECONDITION)', async () => {
      await create('pause', ['sleep', '1000']);
      await expectCode(create('early', ['true'], true), Code.FAILED_PRECONDITION, /first container \(pause\), whose init process is not running \(created\)/);
      await h.agent.StartContainer({ containerId: 'pause' });
      pausePid = Number(readFileSync(join(h.stateDir, 'containers/pause/init/pid'), 'utf8'));
      expect(pausePid).toBeGreaterThan(0);
    });

    it('share the pod\'s IPC and UTS namespaces and see the pod\'s hostname, not the spec\'s', async () => {
      const ns = (kind: string): string => readlinkSync(`/proc/${pausePid}/ns/${kind}`);
      const out = await run('app', ['sh', '-c', 'hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts']);
      expect(out.split('\n')).toEqual(['pod-a', ns('ipc'), ns('uts'), '']);
      expect(ns('ipc')).not.toBe(readlinkSync('/proc/self/ns/ipc'));
      expect(ns('uts')).not.toBe(readlinkSync('/proc/self/ns/uts'));
    });

    it('join the first container\'s PID namespace with sandbox_pidns, and get their own without', async () => {
      const shared = await run('c-shared-pid', ['ps', '-o', 'pid,args'], true);
      expect(shared).toMatch(/^\s*1 sleep 1000$/m);
      const own = await run('c-own-pid', ['ps', '-o', 'pid,args']);
      expect(own).not.toContain('sleep 1000');
      expect(own).toMatch(/^\s*1 ps -o pid,args$/m);
    });

    it('see the pod\'s NIC and share /dev/shm', async () => {
      expect(await run('c-net', ['sh', '-c', 'grep -o "eth0:" /proc/net/dev; echo hi > /dev/shm/probe'])).toBe('eth0:\n');
      expect(readFileSync(join(shm, 'probe'), 'utf8')).toBe('hi\n');
      expect(await run('c-shm', ['cat', '/dev/shm/probe'])).toBe('hi\n');
    });
  });

  it('DestroySandbox removes the containers, the namespace files and the /dev/shm tmpfs', async () => {
    await h.agent.DestroySandbox({});
    const mounts = await mountedPaths();
    expect([...mounts].filter((m) => m.startsWith(h.sandboxDir))).toEqual([]);
    await expectCode(h.agent.WaitProcess({ containerId: 'pause', execId: '' }), Code.NOT_FOUND);
  });
});

describe('guest agent in test mode without --netns', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('refuses the network RPCs rather than touch the host\'s network', async () => {
    await expectCode(h.agent.ListInterfaces({}), Code.FAILED_PRECONDITION, /--netns/);
    await expectCode(h.agent.UpdateInterface({ interface: { hwAddr: NIC_MAC, name: 'eth0' } }), Code.FAILED_PRECONDITION, /--netns/);
  });
});
