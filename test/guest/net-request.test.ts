import { describe, expect, it } from 'vitest';
import { types } from '../../src/gen/proto.js';
import { parseAddrs, parseLinks, parseRoutes } from '../../src/guest/ip-show.js';
import { interfaceToGrpc, neighborsFromGrpc, nicFromGrpc, routeToGrpc, routesFromGrpc } from '../../src/guest/net-request.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { ADDRS, LINKS, ROUTES4 } from './ip-fixtures.js';

const v4 = types.IPFamily.v4;
const v6 = types.IPFamily.v6;

function fails(fn: () => unknown, code: Code, message: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'should have thrown').toBeInstanceOf(RuntimeError);
  expect({ code: (err as RuntimeError).code, message: (err as RuntimeError).message }).toMatchObject({ code });
  expect((err as RuntimeError).message).toMatch(message);
}

const iface = (extra: Partial<types.Interface.$Properties> = {}): types.Interface.$Properties => ({
  name: 'eth0',
  hwAddr: '02:00:00:AA:BB:03',
  mtu: 1450,
  IPAddresses: [
    { family: v4, address: '10.88.0.5', mask: '16' },
    { family: v6, address: 'FD00:0::5', mask: '64' },
  ],
  ...extra,
});

describe('UpdateInterface request', () => {
  it('becomes a NicConfig: lowercase MAC, canonical addresses, NOARP from raw_flags', () => {
    expect(nicFromGrpc(iface())).toEqual({
      mac: '02:00:00:aa:bb:03',
      name: 'eth0',
      mtu: 1450,
      addresses: [
        { family: 4, address: '10.88.0.5', prefix: 16 },
        { family: 6, address: 'fd00::5', prefix: 64 },
      ],
      noArp: false,
    });
    expect(nicFromGrpc(iface({ rawFlags: 0x1 | 0x80 })).noArp).toBe(true);
    // v4 is the enum's zero, indistinguishable from "not set": the address decides.
    expect(nicFromGrpc(iface({ IPAddresses: [{ address: 'fd00::5', mask: '64' }] })).addresses[0]?.family).toBe(6);
  });

  it('refuses bad input with INVALID_ARGUMENT naming the field', () => {
    const bad = Code.INVALID_ARGUMENT;
    fails(() => nicFromGrpc(null), bad, /no interface/);
    fails(() => nicFromGrpc(iface({ hwAddr: '' })), bad, /interface eth0: hwAddr is empty/);
    fails(() => nicFromGrpc(iface({ hwAddr: '02:00:00:aa:bb' })), bad, /hwAddr "02:00:00:aa:bb" is not a MAC/);
    fails(() => nicFromGrpc(iface({ name: 'a-name-longer-than-15' })), bad, /name "a-name-longer-than-15" is not a valid interface name/);
    fails(() => nicFromGrpc(iface({ name: 'a/b' })), bad, /not a valid interface name/);
    fails(() => nicFromGrpc(iface({ mtu: 20 })), bad, /mtu 20 is out of range/);
    fails(() => nicFromGrpc(iface({ IPAddresses: [{ address: '10.88.0.300', mask: '16' }] })), bad, /IPAddresses\[0\]\.address "10\.88\.0\.300" is not an IPv4 or IPv6 address/);
    fails(() => nicFromGrpc(iface({ IPAddresses: [{ address: '10.88.0.5', mask: '' }] })), bad, /IPAddresses\[0\]\.mask "" is not a prefix length \(0-32\)/);
    fails(() => nicFromGrpc(iface({ IPAddresses: [{ address: '10.88.0.5', mask: '255.255.0.0' }] })), bad, /mask "255\.255\.0\.0"/);
    fails(() => nicFromGrpc(iface({ IPAddresses: [{ address: 'fd00::5', mask: '129' }] })), bad, /mask "129" is not a prefix length \(0-128\)/);
    fails(() => nicFromGrpc(iface({ IPAddresses: [{ family: v6, address: '10.88.0.5', mask: '16' }] })), bad, /IPAddresses\[0\]: family is v6 but the address is IPv4/);
  });

  it('reports a link as Kata\'s Interface', () => {
    const links = parseLinks(LINKS);
    expect(interfaceToGrpc(links[2]!, parseAddrs(ADDRS))).toEqual({
      device: 'eth7',
      name: 'eth7',
      IPAddresses: [
        { family: v4, address: '10.88.0.5', mask: '16' },
        { family: v4, address: '10.9.0.1', mask: '32' },
        { family: v6, address: 'fd00::5', mask: '64' },
      ],
      mtu: 1500,
      hwAddr: '02:00:00:aa:bb:02',
      rawFlags: 0x2 | 0x1000 | 0x1 | 0x10000,
    });
  });
});

describe('UpdateRoutes request', () => {
  it('becomes RouteConfigs: default for "", "default" and /0; family from the addresses; onlink from flags', () => {
    const routes = routesFromGrpc([
      { dest: '', gateway: '10.88.0.1', device: 'eth0' },
      { dest: 'default', gateway: 'fd00::1', device: 'eth0', family: v6 },
      { dest: '0.0.0.0/0', gateway: '10.88.0.1', device: 'eth0' },
      { dest: '10.88.0.0/16', device: 'eth0', source: '10.88.0.5', scope: 253 },
      { dest: 'fd01::/64', gateway: 'fd00::1', device: 'eth0' },
      { dest: '169.254.1.1', device: 'eth0', scope: 253 },
      { dest: '10.5.0.0/24', gateway: '169.254.1.1', device: 'eth0', flags: 4 },
      { dest: '', device: 'eth0', family: v6 },
    ]);
    expect(routes.map((r) => [r.family, r.dest && `${r.dest.address}/${r.dest.prefix}`, r.gateway, r.source, r.scope, r.onlink])).toEqual([
      [4, undefined, '10.88.0.1', undefined, 0, false],
      [6, undefined, 'fd00::1', undefined, 0, false],
      [4, undefined, '10.88.0.1', undefined, 0, false],
      [4, '10.88.0.0/16', undefined, '10.88.0.5', 253, false],
      [6, 'fd01::/64', 'fd00::1', undefined, 0, false],
      [4, '169.254.1.1/32', undefined, undefined, 253, false],
      [4, '10.5.0.0/24', '169.254.1.1', undefined, 0, true],
      [6, undefined, undefined, undefined, 0, false],
    ]);
  });

  it('refuses bad routes with INVALID_ARGUMENT naming the route and field', () => {
    const bad = Code.INVALID_ARGUMENT;
    fails(() => routesFromGrpc([{ dest: '10.0.0.0/8' }]), bad, /routes\[0\] \(10\.0\.0\.0\/8 dev \): device is empty/);
    fails(() => routesFromGrpc([{ dest: '10.0.0/8', device: 'eth0' }]), bad, /dest "10\.0\.0\/8" is not an address or CIDR/);
    fails(() => routesFromGrpc([{ dest: '10.88.0.5/16', device: 'eth0' }]), bad, /dest 10\.88\.0\.5\/16 has host bits set \(the network is 10\.88\.0\.0\/16\)/);
    fails(() => routesFromGrpc([{ dest: '', gateway: 'router', device: 'eth0' }]), bad, /routes\[0\] \(default dev eth0\): gateway "router" is not an IP address/);
    fails(() => routesFromGrpc([{ dest: '10.0.0.0/8', source: '10.0.0.1/8', device: 'eth0' }]), bad, /source "10\.0\.0\.1\/8" is not an IP address/);
    fails(() => routesFromGrpc([{ dest: '10.0.0.0/8', gateway: 'fd00::1', device: 'eth0' }]), bad, /mix IPv4 and IPv6/);
    fails(() => routesFromGrpc([{ dest: '10.0.0.0/8', device: 'eth0', family: v6 }]), bad, /family is v6 but the address is IPv4/);
    fails(() => routesFromGrpc([{ dest: '10.0.0.0/8', device: 'eth0', scope: 256 }]), bad, /scope 256 is not an RT_SCOPE value/);
  });

  it('reports routes as Kata\'s Route, dest "" for the default route', () => {
    const [def, , , connected] = parseRoutes(ROUTES4, 4);
    expect(routeToGrpc(def!)).toEqual({ dest: '', gateway: '10.88.0.1', device: 'eth7', source: '', scope: 0, family: v4, flags: 0 });
    expect(routeToGrpc(connected!)).toEqual({ dest: '10.88.0.0/16', gateway: '', device: 'eth7', source: '10.88.0.5', scope: 253, family: v4, flags: 0 });
    const [onlink] = routesFromGrpc([{ dest: '10.5.0.0/24', gateway: '169.254.1.1', device: 'eth0', flags: 4 }]);
    expect(routeToGrpc(onlink!)).toMatchObject({ dest: '10.5.0.0/24', gateway: '169.254.1.1', device: 'eth0', flags: 4 });
  });
});

describe('AddARPNeighbors request', () => {
  it('becomes NeighborConfigs with canonical IP and MAC', () => {
    expect(neighborsFromGrpc([{ toIPAddress: { address: '10.88.0.9' }, device: 'eth0', lladdr: 'AA:BB:CC:DD:EE:FF', state: 0x80 }])).toEqual([
      { ip: '10.88.0.9', device: 'eth0', mac: 'aa:bb:cc:dd:ee:ff' },
    ]);
  });

  it('refuses IPv6 entries (UNIMPLEMENTED) and bad ones (INVALID_ARGUMENT), naming the entry', () => {
    fails(
      () => neighborsFromGrpc([{ toIPAddress: { family: v6, address: 'fd00::9' }, device: 'eth0', lladdr: 'aa:bb:cc:dd:ee:ff' }]),
      Code.UNIMPLEMENTED,
      /ARPNeighbors\[0\] \(fd00::9 lladdr aa:bb:cc:dd:ee:ff dev eth0\): IPv6 neighbours cannot be added/,
    );
    fails(() => neighborsFromGrpc([{ device: 'eth0', lladdr: 'aa:bb:cc:dd:ee:ff' }]), Code.INVALID_ARGUMENT, /toIPAddress\.address "" is not an IP address/);
    fails(() => neighborsFromGrpc([{ toIPAddress: { address: '10.0.0.9' }, lladdr: 'aa:bb:cc:dd:ee:ff' }]), Code.INVALID_ARGUMENT, /device is empty/);
    fails(() => neighborsFromGrpc([{ toIPAddress: { address: '10.0.0.9' }, device: 'eth0', lladdr: 'nope' }]), Code.INVALID_ARGUMENT, /lladdr "nope" is not a MAC address/);
  });
});
