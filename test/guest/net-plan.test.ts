// The network decisions on captured busybox state: exact command lists.
import { describe, expect, it } from 'vitest';
import { types } from '../../src/gen/proto.js';
import { parseAddrs, parseLinks, parseRoutes } from '../../src/guest/ip-show.js';
import { commandText, planInterface, planNeighbors, planRoutes } from '../../src/guest/net-plan.js';
import { neighborsFromGrpc, nicFromGrpc, routesFromGrpc } from '../../src/guest/net-request.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { ADDRS, LINKS, ROUTES4, ROUTES6 } from './ip-fixtures.js';

const links = parseLinks(LINKS);
const addrs = parseAddrs(ADDRS);
const routes = [...parseRoutes(ROUTES4, 4), ...parseRoutes(ROUTES6, 6)];
const v4 = types.IPFamily.v4;
const v6 = types.IPFamily.v6;

/** eth7 as it is in the fixtures: up, MTU 1500, three addresses. */
const ETH7 = '02:00:00:aa:bb:02';
/** v0 in the fixtures: down, no addresses (a NIC fresh from the driver). */
const V0 = '02:00:00:AA:BB:03';

const nic = (hwAddr: string, extra: Partial<types.Interface.$Properties> = {}) =>
  nicFromGrpc({
    hwAddr,
    name: 'eth0',
    mtu: 1450,
    IPAddresses: [
      { family: v4, address: '10.88.0.5', mask: '16' },
      { family: v6, address: 'fd00::5', mask: '64' },
    ],
    ...extra,
  });

const texts = (cmds: ReturnType<typeof planInterface>): string[] => cmds.map(commandText);

describe('UpdateInterface plan', () => {
  it('configures a fresh NIC: rename (it is down), MTU, addresses, up', () => {
    expect(texts(planInterface(nic(V0), links, addrs))).toEqual([
      'ip link set dev v0 name eth0',
      'ip link set dev eth0 mtu 1450',
      'ip addr add 10.88.0.5/16 dev eth0',
      'ip -6 addr add fd00::5/64 dev eth0',
      'ip link set dev eth0 up',
    ]);
  });

  it('plans nothing when the link already is as asked (a repeated request)', () => {
    const same = nic(ETH7, {
      name: 'eth7',
      mtu: 1500,
      IPAddresses: [
        { address: '10.88.0.5', mask: '16' },
        { address: '10.9.0.1', mask: '32' },
        { address: 'fd00::5', mask: '64' },
      ],
    });
    expect(planInterface(same, links, addrs)).toEqual([]);
    // Name '' and MTU 0 keep what is there.
    expect(planInterface({ ...same, name: '', mtu: 0 }, links, addrs)).toEqual([]);
  });

  it('applies only the address difference when the name stays (routes and link-local survive)', () => {
    expect(texts(planInterface(nic(ETH7, { name: 'eth7', mtu: 1500, IPAddresses: [{ address: '10.88.0.5', mask: '24' }, { address: 'fd00::5', mask: '64' }] }), links, addrs))).toEqual([
      'ip addr del 10.88.0.5/16 dev eth7',
      'ip addr del 10.9.0.1/32 dev eth7',
      'ip addr add 10.88.0.5/24 dev eth7',
    ]);
    // v1's only address is its kernel link-local one: kept.
    expect(texts(planInterface(nicFromGrpc({ hwAddr: '1e:fd:29:c2:1f:ca', name: 'v1', rawFlags: 0x80, IPAddresses: [] }), links, addrs))).toEqual([]);
  });

  it('renames an up link: down first, then flush (down drops IPv6 addresses) and add all, up', () => {
    expect(texts(planInterface(nic(ETH7, { mtu: 1500 }), links, addrs))).toEqual([
      'ip link set dev eth7 down',
      'ip link set dev eth7 name eth0',
      'ip addr flush dev eth0',
      'ip addr add 10.88.0.5/16 dev eth0',
      'ip -6 addr add fd00::5/64 dev eth0',
      'ip link set dev eth0 up',
    ]);
  });

  it('swaps names with the link that holds the wanted one (Kata\'s rename of the holder)', () => {
    expect(texts(planInterface(nic(V0, { name: 'eth7', mtu: 0, IPAddresses: [] }), links, addrs))).toEqual([
      'ip link set dev eth7 down',
      'ip link set dev eth7 name kata-swap3',
      'ip link set dev v0 name eth7',
      'ip link set dev kata-swap3 name v0',
      'ip link set dev v0 up',
      'ip link set dev eth7 up',
    ]);
  });

  it('sets ARP from raw_flags and adds a duplicated address once', () => {
    const cfg = nic(ETH7, { name: 'eth7', mtu: 1500, rawFlags: 0x80, IPAddresses: [{ address: '10.88.0.5', mask: '16' }, { address: '10.9.0.1', mask: '32' }, { address: 'fd00::5', mask: '64' }, { address: 'fd00::5', mask: '64' }] });
    expect(texts(planInterface(cfg, links, addrs))).toEqual(['ip link set dev eth7 arp off']);
    expect(texts(planInterface(nicFromGrpc({ hwAddr: '1e:fd:29:c2:1f:ca', name: 'v1' }), links, addrs))).toEqual(['ip link set dev v1 arp on']);
  });

  it('answers NOT_FOUND for a MAC no link has (lo\'s zero MAC included)', () => {
    for (const mac of ['02:00:00:00:00:99', '00:00:00:00:00:00']) {
      expect(() => planInterface(nic(mac), links, addrs)).toThrow(RuntimeError);
      try {
        planInterface(nic(mac), links, addrs);
      } catch (err) {
        expect((err as RuntimeError).code).toBe(Code.NOT_FOUND);
        expect((err as RuntimeError).message).toContain(mac);
      }
    }
  });
});

describe('UpdateRoutes plan', () => {
  const request = routesFromGrpc([
    { dest: '', gateway: '10.88.0.1', device: 'eth7' },
    { dest: '10.99.0.0/24', device: 'eth7', scope: 253, source: '10.88.0.5' },
    { dest: 'default', gateway: 'fd00::1', device: 'eth7', family: v6 },
    { dest: '10.5.0.0/24', gateway: '169.254.1.1', device: 'eth7', flags: 4 },
    { dest: '169.254.1.1', device: 'eth7', scope: 253 },
  ]);

  it('removes the named devices\' other routes (not the kernel\'s), then sets link routes before gateway routes', () => {
    expect(planRoutes(request, links, addrs, routes).map(commandText)).toEqual([
      'ip route del 10.88.7.7/32 dev eth7',
      'ip route del 192.168.9.0/24 dev eth7 metric 100',
      'ip route replace 10.99.0.0/24 dev eth7 src 10.88.0.5 scope link',
      'ip route replace 169.254.1.1/32 dev eth7 scope link',
      'ip route replace default via 10.88.0.1 dev eth7 scope global',
      'ip -6 route replace default via fd00::1 dev eth7',
      'ip route replace 10.5.0.0/24 via 169.254.1.1 dev eth7 scope global onlink',
    ]);
  });

  it('leaves other devices\' routes alone and refuses an unknown device (NOT_FOUND)', () => {
    const onV1 = routesFromGrpc([{ dest: 'fd01::/64', device: 'v1' }]);
    expect(planRoutes(onV1, links, addrs, routes).map(commandText)).toEqual(['ip -6 route replace fd01::/64 dev v1']);
    expect(() => planRoutes(routesFromGrpc([{ dest: '10.0.0.0/8', device: 'eth9' }]), links, addrs, routes)).toThrow(/routes\[0\] \(10\.0\.0\.0\/8\): device eth9 not found/);
  });
});

describe('AddARPNeighbors plan', () => {
  it('adds permanent entries with busybox arp -s', () => {
    const nbs = neighborsFromGrpc([{ toIPAddress: { address: '10.88.0.9' }, device: 'eth7', lladdr: 'AA:BB:CC:DD:EE:FF' }]);
    expect(planNeighbors(nbs, links).map(commandText)).toEqual(['arp -i eth7 -s 10.88.0.9 aa:bb:cc:dd:ee:ff']);
    expect(() => planNeighbors(neighborsFromGrpc([{ toIPAddress: { address: '10.88.0.9' }, device: 'eth9', lladdr: 'aa:bb:cc:dd:ee:ff' }]), links)).toThrow(/device eth9 not found/);
  });
});
