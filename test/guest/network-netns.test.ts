// The network executor with real busybox commands in a private network namespace
// (kga-<pid>), checked with iproute2's JSON output, which shares no code with the parser
// under test. A veth pair stands in for the VM's virtio-net NIC.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { types } from '../../src/gen/proto.js';
import { busyboxRunner, GuestNetwork, type AppletRunner } from '../../src/guest/network.js';
import { neighborsFromGrpc, nicFromGrpc, routesFromGrpc } from '../../src/guest/net-request.js';
import { createLogger } from '../../src/log/logger.js';
import { Code, RuntimeError } from '../../src/errors/index.js';

const NS = `kga-${process.pid}`;
const NS_PATH = `/run/netns/${NS}`;
const NIC_MAC = '02:00:00:4b:47:01';
const LATE_MAC = '02:00:00:4b:47:03';

const ipj = (...args: string[]): unknown => JSON.parse(execFileSync('ip', ['-n', NS, '-j', ...args], { encoding: 'utf8' }) || '[]');
const ipn = (...args: string[]): void => void execFileSync('ip', ['-n', NS, ...args]);

interface JLink {
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}
interface JRoute {
  dst: string;
  gateway?: string;
  dev: string;
  scope?: string;
  prefsrc?: string;
  flags?: string[];
}

const link = (name: string): JLink | undefined => (ipj('addr', 'show') as JLink[]).find((l) => l.ifname === name);
/** Everything the requests change, for before/after comparisons (not IPv6 DAD progress or address lifetimes). */
const snapshot = (): unknown => ({
  links: (ipj('addr', 'show') as JLink[]).map((l) => ({ name: l.ifname, mtu: l.mtu, flags: l.flags, addrs: (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`) })),
  r4: ipj('-4', 'route', 'show'),
  r6: ipj('-6', 'route', 'show'),
  neigh: (ipj('neigh', 'show', 'dev', 'eth0') as { dst: string }[]).filter((n) => n.dst === '10.88.0.9'),
});

describe('network RPC executor in a private network namespace', () => {
  const log = createLogger({ level: 'silent' });
  const ran: string[] = [];
  const inner = busyboxRunner({ netns: NS_PATH });
  const recording: AppletRunner = (applet, args) => {
    ran.push([applet, ...args].join(' '));
    return inner(applet, args);
  };
  const net = new GuestNetwork({ run: recording, log, nicWaitMs: 3000, pollMs: 50 });
  /** Commands that change something (not the show commands that read the state). */
  const changes = (): string[] => ran.splice(0).filter((c) => !/ show$/.test(c));

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    // The NIC's peer is up so the NIC has carrier, as a virtio-net NIC does.
    ipn('link', 'add', 'kga0', 'address', NIC_MAC, 'type', 'veth', 'peer', 'name', 'kga1', 'address', '02:00:00:4b:47:02');
    ipn('link', 'set', 'kga1', 'up');
  });

  afterAll(() => {
    execFileSync('ip', ['netns', 'del', NS]);
  });

  const iface = (): types.Interface.$Properties => ({
    hwAddr: NIC_MAC.toUpperCase(),
    name: 'eth0',
    mtu: 1400,
    IPAddresses: [
      { family: types.IPFamily.v4, address: '10.88.0.5', mask: '16' },
      { family: types.IPFamily.v6, address: 'fd00::5', mask: '64' },
    ],
  });
  const routes = (): types.Route.$Properties[] => [
    { dest: '', gateway: '10.88.0.1', device: 'eth0' },
    { dest: '10.99.0.0/24', device: 'eth0', scope: 253, source: '10.88.0.5' },
    { dest: '', gateway: 'fd00::1', device: 'eth0', family: types.IPFamily.v6 },
  ];
  const neighbors = (): types.ARPNeighbor.$Properties[] => [{ toIPAddress: { address: '10.88.0.9' }, device: 'eth0', lladdr: 'aa:bb:cc:dd:ee:ff', state: 0x80 }];

  it('brings lo up', async () => {
    await net.loopbackUp();
    expect(link('lo')?.flags).toContain('UP');
    changes();
  });

  it('configures the NIC found by its MAC: name, MTU, addresses, up', async () => {
    const { link: result, addrs } = await net.updateInterface(nicFromGrpc(iface()));
    expect(result).toMatchObject({ name: 'eth0', mac: NIC_MAC, mtu: 1400 });
    expect(addrs.map((a) => `${a.cidr.address}/${a.cidr.prefix}`)).toEqual(expect.arrayContaining(['10.88.0.5/16', 'fd00::5/64']));
    const eth0 = link('eth0');
    expect(eth0).toMatchObject({ address: NIC_MAC, mtu: 1400 });
    expect(eth0?.flags).toContain('UP');
    expect(eth0?.addr_info?.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`)).toEqual(['10.88.0.5/16', 'fd00::5/64']);
    expect(link('kga0')).toBeUndefined();
    expect(changes()).toEqual([
      'ip link set dev kga0 name eth0',
      'ip link set dev eth0 mtu 1400',
      'ip addr add 10.88.0.5/16 dev eth0',
      'ip -6 addr add fd00::5/64 dev eth0',
      'ip link set dev eth0 up',
    ]);
  });

  it('sets routes (link route before the gateways) and the ARP entry', async () => {
    const applied = await net.updateRoutes(routesFromGrpc(routes()));
    expect(applied).toHaveLength(3);
    const r4 = ipj('-4', 'route', 'show') as JRoute[];
    expect(r4).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: '10.88.0.1', dev: 'eth0' }),
        expect.objectContaining({ dst: '10.99.0.0/24', dev: 'eth0', scope: 'link', prefsrc: '10.88.0.5' }),
      ]),
    );
    expect(ipj('-6', 'route', 'show') as JRoute[]).toEqual(expect.arrayContaining([expect.objectContaining({ dst: 'default', gateway: 'fd00::1', dev: 'eth0' })]));
    await net.addNeighbors(neighborsFromGrpc(neighbors()));
    expect(ipj('neigh', 'show', 'dev', 'eth0')).toEqual([expect.objectContaining({ dst: '10.88.0.9', lladdr: 'aa:bb:cc:dd:ee:ff', state: ['PERMANENT'] })]);
    expect(changes()).toEqual([
      'ip route replace 10.99.0.0/24 dev eth0 src 10.88.0.5 scope link',
      'ip route replace default via 10.88.0.1 dev eth0 scope global',
      'ip -6 route replace default via fd00::1 dev eth0',
      'arp -i eth0 -s 10.88.0.9 aa:bb:cc:dd:ee:ff',
    ]);
  });

  it('is idempotent: the same requests again change nothing (no link bounce, routes kept)', async () => {
    const before = snapshot();
    await net.updateInterface(nicFromGrpc(iface()));
    expect(changes()).toEqual([]);
    await net.updateRoutes(routesFromGrpc(routes()));
    await net.addNeighbors(neighborsFromGrpc(neighbors()));
    expect(changes().every((c) => / route replace |^arp -i /.test(c))).toBe(true);
    expect(snapshot()).toEqual(before);
  });

  it('replaces the device\'s routes: a route no longer asked for goes, the kernel\'s prefix route stays', async () => {
    await net.updateRoutes(routesFromGrpc([{ dest: '', gateway: '10.88.0.254', device: 'eth0' }]));
    const r4 = ipj('-4', 'route', 'show') as JRoute[];
    expect(r4.map((r) => `${r.dst} ${r.gateway ?? ''}`.trim()).sort()).toEqual(['10.88.0.0/16', 'default 10.88.0.254']);
    changes();
  });

  it('lists interfaces and routes as busybox sees them', async () => {
    const { links, addrs } = await net.listInterfaces();
    const eth0 = links.find((l) => l.name === 'eth0');
    expect(eth0).toMatchObject({ mac: NIC_MAC, mtu: 1400 });
    expect(addrs.filter((a) => a.index === eth0?.index).map((a) => a.cidr.address)).toEqual(expect.arrayContaining(['10.88.0.5', 'fd00::5']));
    const listed = await net.listRoutes();
    expect(listed).toEqual(expect.arrayContaining([expect.objectContaining({ family: 4, dest: undefined, gateway: '10.88.0.254', dev: 'eth0' })]));
    expect(listed.every((r) => r.type === 'unicast')).toBe(true);
    changes();
  });

  it('waits for a NIC that appears late, and answers NOT_FOUND naming a MAC that never does', async () => {
    const pending = net.updateInterface(nicFromGrpc({ hwAddr: LATE_MAC, name: 'eth1', IPAddresses: [] }));
    await new Promise((r) => setTimeout(r, 300));
    ipn('link', 'add', 'kga2', 'address', LATE_MAC, 'type', 'veth', 'peer', 'name', 'kga3');
    expect((await pending).link).toMatchObject({ name: 'eth1', mac: LATE_MAC });

    const quick = new GuestNetwork({ run: inner, log, nicWaitMs: 300, pollMs: 50 });
    const started = Date.now();
    const err = await quick.updateInterface(nicFromGrpc({ hwAddr: '02:00:00:4b:47:99' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.NOT_FOUND);
    expect((err as RuntimeError).message).toMatch(/no network interface has MAC 02:00:00:4b:47:99 \(waited 0.3 s; links: lo .*eth0 02:00:00:4b:47:01/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('surfaces a failing command with busybox\'s reason (INTERNAL)', async () => {
    const err = await net.updateRoutes(routesFromGrpc([{ dest: '10.7.0.0/16', gateway: '192.0.2.1', device: 'eth0' }])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.INTERNAL);
    expect((err as RuntimeError).message).toMatch(/ip route replace 10\.7\.0\.0\/16 via 192\.0\.2\.1 dev eth0 .*: .*(unreachable|Network)/i);
  });
});
