import { describe, it, expect } from 'vitest';
import { parseLinks, parseNeighbors, parseRoutes } from '../../src/network/ip-json.js';
import { NTF, NUD, RTNH_F, RT_SCOPE } from '../../src/network/types.js';
import { RuntimeError } from '../../src/errors/index.js';
import { fixture } from './fixtures.js';

describe('parseLinks (ip -d -j addr show)', () => {
  it('reads a CNI pod netns: loopback and the veth with its MAC, MTU, flags and every address', () => {
    const links = parseLinks(fixture('cni-pod/addr.json'));
    expect(links.map((l) => l.name)).toEqual(['lo', 'eth0']);
    expect(links[0]).toMatchObject({ index: 1, kind: '', mtu: 65536, flags: ['LOOPBACK', 'UP', 'LOWER_UP'] });
    expect(links[1]).toEqual({
      index: 8,
      name: 'eth0',
      kind: 'veth',
      mac: 'da:22:db:7e:ea:28',
      mtu: 1450,
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      addresses: [
        { family: 'ipv4', address: '10.88.7.2', prefixLength: 24 },
        { family: 'ipv6', address: 'fd00:88:7::2', prefixLength: 64 },
        { family: 'ipv6', address: 'fe80::d822:dbff:fe7e:ea28', prefixLength: 64 },
      ],
    });
  });

  it('takes the kind from linkinfo.info_kind and leaves it empty for links without one', () => {
    const links = parseLinks(fixture('mixed-kinds/addr.json'));
    expect(Object.fromEntries(links.map((l) => [l.name, l.kind]))).toEqual({
      lo: '',
      mv0: 'macvlan',
      br0: 'bridge',
      vx0: 'vxlan',
      idle0: 'veth',
      idle1: 'veth',
      tapx: 'tun',
      eth0: 'veth',
    });
  });

  it('treats empty output as no rows and refuses output that is not a JSON array of objects', () => {
    expect(parseLinks('')).toEqual([]);
    expect(parseLinks('[]\n')).toEqual([]);
    expect(() => parseLinks('Object "addr" is unknown')).toThrow(/ip -d -j addr show: output is not JSON/);
    expect(() => parseLinks('{"ifindex":1}')).toThrow(RuntimeError);
    expect(() => parseLinks('[{"ifname":"eth0"}]')).toThrow(/no "ifindex"/);
  });
});

describe('parseRoutes (ip -j route show table main)', () => {
  const v4 = parseRoutes(fixture('cni-pod/route4.json'), 'ipv4');
  const byDest = (dest: string) => v4.find((r) => r.dest === dest);

  it('reads the default route as dest "" and the connected route with its scope and source', () => {
    expect(byDest('')).toEqual({
      family: 'ipv4', dest: '', gateway: '10.88.7.1', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: 0,
      type: '', multipath: false, protocol: '',
    });
    expect(byDest('10.88.7.0/24')).toMatchObject({ gateway: '', device: 'eth0', source: '10.88.7.2', scope: RT_SCOPE.link, protocol: 'kernel' });
  });

  it('gives host routes a prefix length, keeps onlink, and marks blackhole and multipath routes', () => {
    expect(byDest('10.99.0.5/32')).toMatchObject({ gateway: '10.88.7.1', device: 'eth0' });
    expect(byDest('192.168.50.0/24')).toMatchObject({ gateway: '169.254.1.1', flags: RTNH_F.onlink });
    expect(byDest('10.66.0.0/16')).toMatchObject({ type: 'blackhole', device: '' });
    expect(byDest('10.77.0.0/16')).toMatchObject({ multipath: true, device: '', gateway: '' });
  });

  it('reads IPv6 routes, including the kernel link-local one', () => {
    const v6 = parseRoutes(fixture('cni-pod/route6.json'), 'ipv6');
    expect(v6.map((r) => [r.dest, r.gateway, r.device, r.family])).toEqual([
      ['fd00:88:7::/64', '', 'eth0', 'ipv6'],
      ['fd00:99::/64', 'fd00:88:7::1', 'eth0', 'ipv6'],
      ['fe80::/64', '', 'eth0', 'ipv6'],
      ['', 'fd00:88:7::1', 'eth0', 'ipv6'],
    ]);
    expect(parseRoutes('[{"dst":"fd00::5","dev":"eth0","flags":[]}]', 'ipv6')[0]?.dest).toBe('fd00::5/128');
  });

  it('maps scope names and numbers, and refuses a scope it cannot name', () => {
    const scope = (s: unknown) => parseRoutes(JSON.stringify([{ dst: 'default', dev: 'eth0', scope: s }]), 'ipv4')[0]?.scope;
    expect([scope('global'), scope('site'), scope('link'), scope('host'), scope('nowhere'), scope('17')]).toEqual([0, 200, 253, 254, 255, 17]);
    expect(() => scope('galaxy')).toThrow(/unknown route scope "galaxy"/);
  });

  it('takes an RFC 5549 gateway from "via"', () => {
    const [r] = parseRoutes('[{"dst":"default","via":{"family":"inet6","host":"fe80::1"},"dev":"eth0","flags":[]}]', 'ipv4');
    expect(r?.gateway).toBe('fe80::1');
  });
});

describe('parseNeighbors (ip -j neigh show)', () => {
  it('reads both families with NUD state bits and NTF flags', () => {
    expect(parseNeighbors(fixture('cni-pod/neigh.json'))).toEqual([
      { family: 'ipv4', address: '10.88.7.9', device: 'eth0', mac: '02:00:00:00:07:09', state: NUD.REACHABLE, flags: 0 },
      { family: 'ipv4', address: '10.88.7.10', device: 'eth0', mac: '02:00:00:00:07:0a', state: NUD.STALE, flags: 0 },
      { family: 'ipv4', address: '10.88.7.1', device: 'eth0', mac: '82:38:f7:a0:45:99', state: NUD.PERMANENT, flags: 0 },
      { family: 'ipv6', address: 'fd00:88:7::1', device: 'eth0', mac: '02:00:00:00:00:01', state: NUD.PERMANENT, flags: NTF.router },
    ]);
  });

  it('leaves the MAC empty for unresolved entries', () => {
    expect(parseNeighbors('[{"dst":"10.0.0.9","dev":"eth0","state":["FAILED"]}]')[0]).toMatchObject({ mac: '', state: NUD.FAILED });
  });
});
