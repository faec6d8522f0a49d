// setupPodNetwork/teardownPodNetwork on real kernel objects (root): private network
// namespaces named knt-<pid>-*, each veth created straight into them, all removed in afterAll.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../../src/log/logger.js';
import { setupPodNetwork, teardownPodNetwork, NUD, RT_SCOPE, type PodNetwork } from '../../src/network/index.js';
import { Code } from '../../src/errors/index.js';
import { waitUntil } from '../support/wait.js';
import { rejection } from './rejection.js';

const exec = promisify(execFile);
const log = createLogger({ level: 'silent' });

const created: string[] = [];
const children: ChildProcess[] = [];
const nsName = (role: string) => `knt-${process.pid}-${role}`;
const nsPath = (name: string) => `/var/run/netns/${name}`;

async function addNetns(role: string): Promise<string> {
  const name = nsName(role);
  await exec('ip', ['netns', 'add', name]);
  created.push(name);
  return name;
}

/** Runs a command inside one of our namespaces and returns stdout. */
const inNs = async (name: string, argv: string[]): Promise<string> => (await exec('nsenter', [`--net=${nsPath(name)}`, '--', ...argv])).stdout;
const json = async <T>(name: string, argv: string[]): Promise<T> => JSON.parse((await inNs(name, argv)) || '[]') as T;

interface Link { ifname: string; address: string; mtu: number; flags: string[]; linkinfo?: { info_kind?: string; info_data?: { type?: string } }; stats64?: { tx: { packets: number } } }
interface Qdisc { kind: string; dev: string; handle: string }
interface Filter { options?: { actions?: { kind: string; mirred_action: string; direction: string; to_dev: string }[] } }

const links = (ns: string) => json<Link[]>(ns, ['ip', '-d', '-j', 'link', 'show']);
const link = async (ns: string, dev: string) => (await links(ns)).find((l) => l.ifname === dev);
const ingressQdiscs = async (ns: string) => (await json<Qdisc[]>(ns, ['tc', '-j', 'qdisc', 'show'])).filter((q) => q.kind === 'ingress').map((q) => q.dev);
const redirects = async (ns: string, dev: string) =>
  (await json<Filter[]>(ns, ['tc', '-j', 'filter', 'show', 'dev', dev, 'ingress'])).flatMap((f) => f.options?.actions ?? []);
const ourTaps = async (ns: string) => (await links(ns)).map((l) => l.ifname).filter((n) => /^tap\d+_kata$/.test(n));

/** A veth whose `dev` end is in `ns` (up, with `cidr`) and whose `peer` end is in the peer netns. */
async function addVeth(ns: string, dev: string, peerNs: string, peer: string, cidr: string, mtu = 1500): Promise<void> {
  await exec('ip', ['link', 'add', dev, 'netns', ns, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', peer, 'netns', peerNs, 'mtu', String(mtu)]);
  await inNs(ns, ['ip', 'addr', 'add', cidr, 'dev', dev]);
  await inNs(ns, ['ip', 'link', 'set', dev, 'up']);
  await inNs(peerNs, ['ip', 'link', 'set', peer, 'up']);
}

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** An Ethernet frame carrying one IPv4 UDP datagram (UDP checksum 0: allowed for IPv4). */
function udpFrame(o: { srcMac: string; dstMac: string; srcIp: string; dstIp: string; port: number; payload: string }): Buffer {
  const mac = (m: string) => Buffer.from(m.split(':').map((h) => parseInt(h, 16)));
  const ip4 = (a: string) => Buffer.from(a.split('.').map(Number));
  const data = Buffer.from(o.payload);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(o.port, 2);
  udp.writeUInt16BE(8 + data.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + data.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip4(o.srcIp).copy(ip, 12);
  ip4(o.dstIp).copy(ip, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  return Buffer.concat([mac(o.dstMac), mac(o.srcMac), Buffer.from([0x08, 0x00]), ip, udp, data]);
}

let pod: string;
let peer: string;
const tmp = mkdtempSync(join(tmpdir(), 'knt-'));

beforeAll(async () => {
  peer = await addNetns('peer');
  pod = await addNetns('pod');
  // What CNI leaves: the pod end of a veth up with the pod IP, a default route, here also a
  // static neighbour (Kata passes those on).
  await addVeth(pod, 'eth0', peer, 'peer0', '10.123.0.2/24', 1400);
  await inNs(peer, ['ip', 'addr', 'add', '10.123.0.1/24', 'dev', 'peer0']);
  await inNs(pod, ['ip', 'link', 'set', 'lo', 'up']);
  await inNs(pod, ['ip', 'route', 'add', 'default', 'via', '10.123.0.1', 'dev', 'eth0']);
  const peerMac = (await link(peer, 'peer0'))!.address;
  await inNs(pod, ['ip', 'neigh', 'add', '10.123.0.1', 'lladdr', peerMac, 'dev', 'eth0', 'nud', 'permanent']);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  for (const name of created.reverse()) await exec('ip', ['netns', 'del', name]).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('pod network on a real netns', () => {
  let net: PodNetwork;
  let podMac: string;
  let peerMac: string;

  it('mirrors the veth into tap0_kata: tap up with the veth MTU, ingress qdiscs and mirred redirects both ways', async () => {
    podMac = (await link(pod, 'eth0'))!.address;
    peerMac = (await link(peer, 'peer0'))!.address;
    net = await setupPodNetwork({ netnsPath: nsPath(pod), model: 'tcfilter', log });

    const tap = await link(pod, 'tap0_kata');
    expect(tap).toBeDefined();
    expect(tap!.linkinfo).toMatchObject({ info_kind: 'tun', info_data: { type: 'tap' } });
    expect(tap!.mtu).toBe(1400);
    expect(tap!.flags).toContain('UP');
    expect((await ingressQdiscs(pod)).sort()).toEqual(['eth0', 'tap0_kata']);
    expect(await redirects(pod, 'eth0')).toEqual([expect.objectContaining({ kind: 'mirred', mirred_action: 'redirect', direction: 'egress', to_dev: 'tap0_kata' })]);
    expect(await redirects(pod, 'tap0_kata')).toEqual([expect.objectContaining({ kind: 'mirred', mirred_action: 'redirect', direction: 'egress', to_dev: 'eth0' })]);
  });

  it('returns the veth as the endpoint, with its MAC, MTU and address, and its routes and static neighbour', () => {
    expect(net.netnsPath).toBe(nsPath(pod));
    expect(net.endpoints).toHaveLength(1);
    const [ep] = net.endpoints;
    expect(ep!.tap).toBe('tap0_kata');
    expect(ep!.iface).toMatchObject({ name: 'eth0', kind: 'veth', mac: podMac, mtu: 1400 });
    expect(ep!.iface.addresses).toContainEqual({ family: 'ipv4', address: '10.123.0.2', prefixLength: 24 });
    expect(net.routes).toEqual([
      { family: 'ipv4', dest: '10.123.0.0/24', gateway: '', device: 'eth0', source: '10.123.0.2', scope: RT_SCOPE.link, flags: 0 },
      { family: 'ipv4', dest: '', gateway: '10.123.0.1', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: 0 },
    ]);
    expect(net.neighbors).toEqual([{ family: 'ipv4', address: '10.123.0.1', device: 'eth0', mac: peerMac, state: NUD.PERMANENT, flags: 0 }]);
  });

  it('leaves the veth as it was: address, MTU and state', async () => {
    const veth = await link(pod, 'eth0');
    expect(veth).toMatchObject({ mtu: 1400, address: podMac });
    expect(veth!.flags).toContain('UP');
    expect(await inNs(pod, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])).toContain('"local":"10.123.0.2"');
  });

  it('redirects traffic both ways: peer -> veth -> tap, and tap -> veth -> peer', async () => {
    // A reader on the tap plays the VM: without one the tap has no carrier and mirred drops.
    const vm = start('nsenter', [`--net=${nsPath(pod)}`, '--', 'socat', '-b', '65536', 'TUN,tun-type=tap,tun-name=tap0_kata,iff-no-pi', 'STDIO']);
    let fromTap = Buffer.alloc(0);
    vm.stdout!.on('data', (b: Buffer) => (fromTap = Buffer.concat([fromTap, b])));
    await waitUntil(async () => (await link(pod, 'tap0_kata'))!.flags.includes('LOWER_UP'), { what: 'the tap carrier', intervalMs: 50 });
    const txBefore = (await json<Link[]>(pod, ['ip', '-s', '-j', 'link', 'show', 'tap0_kata']))[0]!.stats64!.tx.packets;

    // Into the VM: UDP from the peer to the pod IP (the peer knows the pod's MAC statically).
    await inNs(peer, ['ip', 'neigh', 'replace', '10.123.0.2', 'lladdr', podMac, 'dev', 'peer0', 'nud', 'permanent']);
    const toVm = `knt-to-vm-${process.pid}`;
    const send = `const s=require('dgram').createSocket('udp4');let n=0;const t=setInterval(()=>{s.send(${JSON.stringify(toVm)},9,'10.123.0.2');if(++n===10){clearInterval(t);s.close()}},20)`;
    await exec('nsenter', [`--net=${nsPath(peer)}`, '--', process.execPath, '-e', send]);
    await waitUntil(() => fromTap.includes(toVm), { what: 'the datagram out of the tap' });
    const txAfter = (await json<Link[]>(pod, ['ip', '-s', '-j', 'link', 'show', 'tap0_kata']))[0]!.stats64!.tx.packets;
    expect(txAfter).toBeGreaterThan(txBefore);

    // Out of the VM: a frame written to the tap arrives at the peer, from the pod's MAC and IP.
    const listener = start('nsenter', [
      `--net=${nsPath(peer)}`, '--', process.execPath, '-e',
      "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>{console.log(JSON.stringify({m:String(m),from:r.address}));process.exit(0)});s.bind(7777,()=>console.log('ready'))",
    ]);
    let heard = '';
    listener.stdout!.on('data', (b: Buffer) => (heard += b.toString()));
    await waitUntil(() => heard.includes('ready'), { what: 'the peer listener' });
    const fromVm = `knt-from-vm-${process.pid}`;
    const frame = udpFrame({ srcMac: podMac, dstMac: peerMac, srcIp: '10.123.0.2', dstIp: '10.123.0.1', port: 7777, payload: fromVm });
    // Written again on every check (every 50 ms) until one arrives.
    await waitUntil(
      () => {
        if (!heard.includes(fromVm)) vm.stdin!.write(frame);
        return heard.includes(fromVm);
      },
      { what: 'the datagram at the peer', intervalMs: 50 },
    );
    expect(JSON.parse(heard.split('\n').find((l) => l.includes(fromVm))!)).toEqual({ m: fromVm, from: '10.123.0.2' });
    vm.kill('SIGKILL');
    await waitUntil(() => vm.exitCode !== null || vm.signalCode !== null, { what: 'the tap reader to exit' });
  });

  it('teardown removes the tap, the ingress qdiscs and the filters, and leaves the veth with its address', async () => {
    await teardownPodNetwork(net, log);
    expect(await ourTaps(pod)).toEqual([]);
    expect(await ingressQdiscs(pod)).toEqual([]);
    expect(await redirects(pod, 'eth0')).toEqual([]);
    const veth = await link(pod, 'eth0');
    expect(veth).toMatchObject({ mtu: 1400, address: podMac });
    expect(veth!.flags).toContain('UP');
    expect(await inNs(pod, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])).toContain('"local":"10.123.0.2"');
  });

  it('a second teardown finds everything gone and does not throw', async () => {
    await expect(teardownPodNetwork(net, log)).resolves.toBeUndefined();
  });
});

describe('pod network refusals and failures on real netns', () => {
  it('refuses a netns with a veth and a bridge, naming the bridge, and leaves nothing behind', async () => {
    const ns = await addNetns('br');
    await addVeth(ns, 'eth0', peer, 'peer1', '10.124.0.2/24');
    await inNs(ns, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await inNs(ns, ['ip', 'link', 'set', 'br0', 'up']);

    const err = await rejection(setupPodNetwork({ netnsPath: nsPath(ns), model: 'tcfilter', log }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toBe(
      `pod network ${nsPath(ns)}: interface br0 of type bridge cannot be mirrored into the VM (supported: veth, macvlan, ipvlan, physical)`,
    );
    expect(await ourTaps(ns)).toEqual([]);
    expect(await ingressQdiscs(ns)).toEqual([]);
  });

  it('undoes the first interface when the second cannot be mirrored, leaving a qdisc that was not ours', async () => {
    const ns = await addNetns('mid');
    await addVeth(ns, 'eth0', peer, 'peer2', '10.125.0.2/24');
    await addVeth(ns, 'eth1', peer, 'peer3', '10.126.0.2/24');
    // The later interface (ifindex order) already has an ingress qdisc, e.g. from a CNI plugin.
    const order = (await links(ns)).map((l) => l.ifname).filter((n) => n.startsWith('eth'));
    const [first, second] = order as [string, string];
    await inNs(ns, ['tc', 'qdisc', 'add', 'dev', second, 'handle', 'ffff:', 'ingress']);

    const err = await rejection(setupPodNetwork({ netnsPath: nsPath(ns), model: 'tcfilter', log }));
    expect(err.message).toContain(`cannot mirror ${second} into the VM`);
    expect(err.message).toContain(`tc qdisc add dev ${second} handle ffff: ingress`);
    expect(err.message).toContain('Exclusivity flag on');
    expect(await ourTaps(ns)).toEqual([]);
    expect(await ingressQdiscs(ns)).toEqual([second]);
    expect(await redirects(ns, first)).toEqual([]);
    expect(await redirects(ns, second)).toEqual([]);
  });

  it('teardown after the netns was deleted does not throw', async () => {
    const ns = await addNetns('gone');
    await addVeth(ns, 'eth0', peer, 'peer4', '10.127.0.2/24');
    const net = await setupPodNetwork({ netnsPath: nsPath(ns), model: 'tcfilter', log });
    expect(net.endpoints.map((e) => e.tap)).toEqual(['tap0_kata']);
    await exec('ip', ['netns', 'del', ns]);
    await expect(teardownPodNetwork(net, log)).resolves.toBeUndefined();
  });

  it('refuses a missing netns path and a path that is not a namespace, naming the path', async () => {
    const missing = nsPath(nsName('missing'));
    expect((await rejection(setupPodNetwork({ netnsPath: missing, model: 'tcfilter', log }))).message).toBe(
      `pod network ${missing}: no such network namespace (the path does not exist)`,
    );
    const file = join(tmp, 'not-a-netns');
    writeFileSync(file, '');
    expect((await rejection(setupPodNetwork({ netnsPath: file, model: 'tcfilter', log }))).message).toBe(
      `pod network ${file}: not a network namespace (nothing is mounted there)`,
    );
  });
});
