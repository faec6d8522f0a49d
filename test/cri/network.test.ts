// Pod networking for kata pods through CRI and CNI's bridge: the pod IP served from inside
// the VM, pods reaching each other, the gateway and runc pods; what is refused; a VM
// without a NIC for internetworking_model = "none"; taps and filters gone after delete.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuPids } from '../e2e/leftovers.js';
import { shimTrees } from '../support/shim-leftovers.js';
import { isCriError } from '../support/cri-client.js';
import { podNetnsPath, waitFor, type RunningPod } from '../support/cri-env.js';
import { createNetns, deleteNetns, type Netns } from '../support/netns.js';
import { startKataCriEnv, type KataCriEnv } from './kata-cri-env.js';
import { kataNetworkIn, NOTHING_LEFT_OF_POD, podLeftovers } from './pod-audit.js';

const SANDBOXES = '/run/kata-containers/shared/sandboxes';
const HTTPD = (page: string): string[] => ['sh', '-c', `mkdir -p /www && echo ${page} > /www/index.html && exec httpd -f -p 80 -h /www`];

describe('kata pod networking through CRI', () => {
  let env: KataCriEnv;

  const podIp = async (pod: RunningPod): Promise<string> => (await env.cri.podSandboxStatus({ pod_sandbox_id: pod.id })).status!.network!.ip;
  const exec = (id: string, script: string) => env.sh(id, script);
  /** busybox wget from inside a container, bounded by `timeout` (wget -T crashes busybox 1.35). */
  const wgetFrom = (id: string, url: string) => exec(id, `timeout 20 wget -q -O - ${url}`);
  /** What this containerd has running: shims, QEMUs and share dirs, for "nothing new" checks. */
  const footprint = () => ({ shims: shimTrees(env.cd.address).length, sandboxes: readdirSync(SANDBOXES, { withFileTypes: true }).length });

  async function removePod(pod: RunningPod): Promise<void> {
    expect(await env.removePod(pod)).toEqual(NOTHING_LEFT_OF_POD);
  }

  beforeAll(async () => {
    env = await startKataCriEnv({ handlers: { 'kata-nonet': { extra: '[runtime]\ninternetworking_model = "none"' } } });
  }, 120_000);

  afterAll(async () => {
    const report = await env?.stop();
    expect(report?.leftoverPods ?? []).toEqual([]);
    expect(report?.leftoverVeths ?? []).toEqual([]);
  }, 180_000);

  describe('two kata pods and a runc pod on one bridge', () => {
    let a: RunningPod;
    let b: RunningPod;
    let r: RunningPod;
    let webA: string;
    let clientB: string;
    let webR: string;

    beforeAll(async () => {
      a = await env.runPod({ name: 'kata-a' }, 'kata');
      webA = await env.startContainer(a, { name: 'web', image: env.images.busybox, command: HTTPD('served-by-kata-a') });
      b = await env.runPod({ name: 'kata-b' }, 'kata');
      clientB = await env.startContainer(b, { name: 'client', image: env.images.busybox, command: HTTPD('served-by-kata-b') });
      r = await env.runPod({ name: 'runc-r' }, 'runc');
      webR = await env.startContainer(r, { name: 'web', image: env.images.busybox, command: HTTPD('served-by-runc') });
      // Like readiness probes: each httpd listens a moment after its container started.
      for (const p of [a, b, r]) {
        const url = `http://${await podIp(p)}/`;
        await waitFor(`httpd at ${url}`, async () => (await env.exec(['busybox', 'wget', '-q', '-O', '/dev/null', url], { timeoutMs: 10_000 })).code === 0);
      }
    }, 240_000);

    afterAll(async () => {
      for (const p of [a, b, r]) if (p) await removePod(p);
    }, 180_000);

    it('mirrors the pod veth into the VM: same MAC and address on the guest NIC', async () => {
      const netns = (await podNetnsPath(env.cri, a.id))!;
      const veth = execFileSync('nsenter', [`--net=${netns}`, '--', 'ip', '-o', 'link', 'show', 'eth0'], { encoding: 'utf8' });
      const mac = /link\/ether (\S+)/.exec(veth)![1]!;
      const guest = await exec(webA, 'ip -o link show eth0; ip -o -4 addr show eth0');
      expect(guest.stdout).toContain(`link/ether ${mac}`);
      expect(guest.stdout).toContain(`inet ${await podIp(a)}/`);
      expect(kataNetworkIn(netns)).toEqual(expect.arrayContaining(['link tap0_kata']));
    });

    it('serves HTTP from inside the VM to the host (the test netns)', async () => {
      const res = await env.exec(['busybox', 'wget', '-q', '-O', '-', `http://${await podIp(a)}/`], { timeoutMs: 20_000 });
      expect(res.stdout).toBe('served-by-kata-a\n');
    });

    it('lets one kata pod reach the other and the bridge gateway', async () => {
      expect((await wgetFrom(clientB, `http://${await podIp(a)}/`)).stdout).toBe('served-by-kata-a\n');
      const ping = await exec(clientB, `ping -c 1 -W 10 ${env.network.gateway}`);
      expect(ping.stdout).toContain('1 packets received');
    });

    it('connects a runc pod and a kata pod both ways', async () => {
      expect((await wgetFrom(webA, `http://${await podIp(r)}/`)).stdout).toBe('served-by-runc\n');
      expect((await wgetFrom(webR, `http://${await podIp(b)}/`)).stdout).toBe('served-by-kata-b\n');
    });
  });

  it('refuses a host-network pod, naming host networking, and starts nothing', async () => {
    const before = footprint();
    const err = await env.runPod({ name: 'hostnet', network: 'NODE' }, 'kata').catch((e: unknown) => e);
    expect(isCriError(err)).toBe(true);
    expect((err as Error).message).toContain('host networking (--net-host) is not supported by VM sandboxes');
    expect(footprint()).toEqual(before);
    expect((await env.cri.listPodSandbox({})).items.filter((p) => p.metadata?.name === 'hostnet')).toEqual([]);
  });

  it('refuses host IPC and host PID pods, naming the namespace', async () => {
    const ipc = await env.runPod({ name: 'hostipc', namespaceOptions: { ipc: 'NODE' } }, 'kata').catch((e: unknown) => e);
    expect((ipc as Error).message).toContain('the host IPC namespace');
    const pid = await env.runPod({ name: 'hostpid', namespaceOptions: { pid: 'NODE' } }, 'kata').catch((e: unknown) => e);
    expect((pid as Error).message).toContain('the host PID namespace');
  });

  it('gives the VM no NIC with internetworking_model = "none"', async () => {
    const pod = await env.runPod({ name: 'nonet' }, 'kata-nonet');
    try {
      const id = await env.startContainer(pod, { name: 'c', image: env.images.busybox, command: ['sleep', '1000'] });
      const links = (await exec(id, 'ls /sys/class/net')).stdout.split('\n').filter(Boolean);
      expect(links).toEqual(['lo']);
      expect(kataNetworkIn((await podNetnsPath(env.cri, pod.id))!)).toEqual([]);
      expect(qemuPids(pod.id)).toHaveLength(1);
    } finally {
      await removePod(pod);
    }
  }, 180_000);

  describe('a kata container in a network namespace the test made (ctr --with-ns)', () => {
    let ns: Netns;
    let peer: Netns;
    const ctr = (args: string[]) => env.cd.ctr(args, { namespace: 'k8s.io', timeoutMs: 120_000 });

    beforeAll(() => {
      // What CNI would leave: a veth with an address, its peer in another namespace.
      ns = createNetns();
      peer = createNetns();
      const inNs = (...args: string[]) => execFileSync('ip', ['-n', ns.name, ...args]);
      inNs('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peer.name);
      inNs('addr', 'add', '10.201.0.2/24', 'dev', 'eth0');
      inNs('link', 'set', 'eth0', 'up');
    });

    afterAll(() => {
      for (const n of [ns, peer]) if (n) deleteNetns(n);
    });

    it('sets up a tap and tc filters while it runs and removes them after delete, leaving the veth', async () => {
      const id = `withns-${process.pid}`;
      const run = await ctr(['run', '-d', '--runtime', 'io.containerd.kata.v2', '--with-ns', `network:${ns.path}`, env.images.busybox, id, 'sleep', '1000']);
      expect(run.stderr).toBe('');
      expect(kataNetworkIn(ns.path)).toEqual(['link tap0_kata', expect.stringMatching(/^qdisc ingress ffff: dev eth0 /), expect.stringMatching(/^qdisc ingress ffff: dev tap0_kata /)]);
      await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
      await waitFor('the task to stop', async () => (await ctr(['task', 'ls'])).stdout.split('\n').some((l) => l.startsWith(id) && l.includes('STOPPED')));
      await ctr(['task', 'delete', id]);
      await ctr(['container', 'delete', id]);
      expect(kataNetworkIn(ns.path)).toEqual([]);
      expect(execFileSync('ip', ['-n', ns.name, '-o', 'addr', 'show', 'eth0'], { encoding: 'utf8' })).toContain('10.201.0.2/24');
      expect(podLeftovers(id, env.cd.address)).toEqual(NOTHING_LEFT_OF_POD);
    }, 120_000);

    it('refuses an interface it cannot mirror, naming it and its type, and leaves nothing', async () => {
      execFileSync('ip', ['-n', ns.name, 'link', 'add', 'br0', 'type', 'bridge']);
      execFileSync('ip', ['-n', ns.name, 'link', 'set', 'br0', 'up']);
      const before = footprint();
      const id = `withbr-${process.pid}`;
      const run = await ctr(['run', '--rm', '--runtime', 'io.containerd.kata.v2', '--with-ns', `network:${ns.path}`, env.images.busybox, id, 'true']);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('interface br0 of type bridge cannot be mirrored into the VM');
      expect(kataNetworkIn(ns.path)).toEqual([]);
      expect(footprint()).toEqual(before);
      expect(podLeftovers(id, env.cd.address)).toEqual(NOTHING_LEFT_OF_POD);
      await ctr(['container', 'delete', id]);
    }, 120_000);
  });
});
