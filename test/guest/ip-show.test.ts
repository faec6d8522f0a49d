import { describe, expect, it } from 'vitest';
import { isNoArp, isUp, parseAddrs, parseLinks, parseRoutes, rawFlags } from '../../src/guest/ip-show.js';
import { ADDRS, LINKS, ROUTES4, ROUTES6 } from './ip-fixtures.js';

describe('busybox ip output', () => {
  it('parses links: name without @peer, lowercase MAC, MTU, flags', () => {
    const links = parseLinks(LINKS);
    expect(links.map((l) => [l.index, l.name, l.mac, l.mtu, l.kind])).toEqual([
      [1, 'lo', '00:00:00:00:00:00', 65536, 'loopback'],
      [2, 'v1', '1e:fd:29:c2:1f:ca', 1500, 'ether'],
      [3, 'eth7', '02:00:00:aa:bb:02', 1500, 'ether'],
      [4, 'v0', '02:00:00:aa:bb:03', 1500, 'ether'],
    ]);
    const [lo, v1, , v0] = links;
    expect([isUp(v1!), isNoArp(v1!), isUp(v0!), isNoArp(v0!)]).toEqual([true, true, false, false]);
    expect(rawFlags(lo!)).toBe(0x8 | 0x1 | 0x10000);
    expect(rawFlags(v1!)).toBe(0x2 | 0x1000 | 0x80 | 0x1 | 0x10000);
    expect(parseLinks('garbage\n\n')).toEqual([]);
  });

  it('parses addresses, including a point-to-point one', () => {
    expect(parseAddrs(ADDRS).map((a) => [a.index, a.dev, `${a.cidr.address}/${a.cidr.prefix}`, a.scope])).toEqual([
      [1, 'lo', '127.0.0.1/8', 'host'],
      [1, 'lo', '::1/128', 'host'],
      [2, 'v1', 'fe80::1cfd:29ff:fec2:1fca/64', 'link'],
      [3, 'eth7', '10.88.0.5/16', 'global'],
      [3, 'eth7', '10.9.0.1/32', 'global'],
      [3, 'eth7', 'fd00::5/64', 'global'],
    ]);
  });

  it('parses IPv4 routes: default, onlink, host routes, types, scope, src, metric', () => {
    const routes = parseRoutes(ROUTES4, 4);
    expect(routes[0]).toEqual({ family: 4, type: 'unicast', dest: undefined, gateway: '10.88.0.1', dev: 'eth7', scope: 0, onlink: false });
    expect(routes[1]).toMatchObject({ dest: { address: '10.5.0.0', prefix: 24 }, gateway: '10.88.0.1', onlink: true });
    expect(routes[2]).toMatchObject({ dest: { address: '10.9.0.2', prefix: 32 }, scope: 253, src: '10.9.0.1' });
    expect(routes[4]).toMatchObject({ dest: { address: '10.88.7.7', prefix: 32 }, scope: 253 });
    expect(routes[4]?.src).toBeUndefined();
    expect(routes[5]).toMatchObject({ type: 'unreachable', dest: { address: '10.200.0.0', prefix: 16 } });
    expect(routes[6]).toMatchObject({ dest: { address: '192.168.9.0', prefix: 24 }, scope: 253, src: '10.88.0.5', metric: 100 });
  });

  it('parses IPv6 routes, with the local table\'s multicast ones typed', () => {
    const routes = parseRoutes(ROUTES6, 6);
    expect(routes.map((r) => [r.type, r.dest ? `${r.dest.address}/${r.dest.prefix}` : 'default', r.gateway, r.dev, r.metric])).toEqual([
      ['unicast', 'fd00::/64', undefined, 'eth7', 256],
      ['unicast', 'fe80::/64', undefined, 'v1', 256],
      ['unicast', 'default', 'fd00::1', 'eth7', 1024],
      ['multicast', 'ff00::/8', undefined, 'v1', 256],
    ]);
  });
});
