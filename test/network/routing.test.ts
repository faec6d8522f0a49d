import { describe, it, expect } from 'vitest';
import { parseNeighbors, parseRoutes, type RouteRow } from '../../src/network/ip-json.js';
import { guestNeighbors, guestRoutes } from '../../src/network/routing.js';
import { NUD, RTNH_F, RT_SCOPE, type NetNeighbor } from '../../src/network/types.js';
import { fixture } from './fixtures.js';

const rows = [...parseRoutes(fixture('cni-pod/route4.json'), 'ipv4'), ...parseRoutes(fixture('cni-pod/route6.json'), 'ipv6')];

const row = (over: Partial<RouteRow>): RouteRow => ({
  family: 'ipv4', dest: '', gateway: '', device: 'eth0', source: '', scope: 0, flags: 0, type: '', multipath: false, protocol: '', ...over,
});

describe('guestRoutes', () => {
  it('gives the guest the pod routes of both families, link routes before gateway routes', () => {
    expect(guestRoutes(rows, ['eth0'])).toEqual([
      { family: 'ipv4', dest: '10.88.7.0/24', gateway: '', device: 'eth0', source: '10.88.7.2', scope: RT_SCOPE.link, flags: 0 },
      { family: 'ipv6', dest: 'fd00:88:7::/64', gateway: '', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: 0 },
      { family: 'ipv4', dest: '', gateway: '10.88.7.1', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: 0 },
      { family: 'ipv4', dest: '10.99.0.5/32', gateway: '10.88.7.1', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: 0 },
      { family: 'ipv4', dest: '192.168.50.0/24', gateway: '169.254.1.1', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: RTNH_F.onlink },
      { family: 'ipv6', dest: 'fd00:99::/64', gateway: 'fd00:88:7::1', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: 0 },
      { family: 'ipv6', dest: '', gateway: 'fd00:88:7::1', device: 'eth0', source: '', scope: RT_SCOPE.universe, flags: 0 },
    ]);
  });

  it('drops the blackhole, the multipath route and the IPv6 link-local route', () => {
    const dests = guestRoutes(rows, ['eth0']).map((r) => r.dest);
    expect(dests).not.toContain('10.66.0.0/16');
    expect(dests).not.toContain('10.77.0.0/16');
    expect(dests).not.toContain('fe80::/64');
  });

  it('drops IPv6 multicast routes, and routes through interfaces that are not mirrored', () => {
    const kept = guestRoutes(
      [
        row({ family: 'ipv6', dest: 'ff00::/8' }),
        row({ family: 'ipv6', dest: 'ff02::fb/128' }),
        row({ family: 'ipv6', dest: 'fe80::/64' }),
        row({ dest: '10.5.0.0/16', device: 'br0' }),
        row({ dest: '10.6.0.0/16', device: 'net1' }),
      ],
      ['eth0', 'net1'],
    );
    expect(kept.map((r) => r.dest)).toEqual(['10.6.0.0/16']);
  });

  it('drops a route whose gateway is of the other family (the agent cannot express it)', () => {
    expect(guestRoutes([row({ gateway: 'fe80::1' }), row({ dest: '10.9.0.0/16', gateway: '10.0.0.1' })], ['eth0']).map((r) => r.dest)).toEqual(['10.9.0.0/16']);
  });

  it('returns nothing when nothing is mirrored', () => {
    expect(guestRoutes(rows, [])).toEqual([]);
  });
});

describe('guestNeighbors', () => {
  it('keeps only permanent entries on mirrored devices, both families, with their flags', () => {
    expect(guestNeighbors(parseNeighbors(fixture('cni-pod/neigh.json')), ['eth0']).map((n) => [n.address, n.state, n.flags])).toEqual([
      ['10.88.7.1', NUD.PERMANENT, 0],
      ['fd00:88:7::1', NUD.PERMANENT, 0x80],
    ]);
  });

  it('drops reachable, stale, noarp and MAC-less entries and other devices', () => {
    const n = (over: Partial<NetNeighbor>): NetNeighbor => ({ family: 'ipv4', address: '10.0.0.1', device: 'eth0', mac: '02:00:00:00:00:09', state: NUD.PERMANENT, flags: 0, ...over });
    const kept = guestNeighbors(
      [
        n({ address: '10.0.0.2', state: NUD.REACHABLE }),
        n({ address: '10.0.0.3', state: NUD.NOARP }),
        n({ address: '10.0.0.4', mac: '' }),
        n({ address: '10.0.0.5', device: 'br0' }),
        n({ address: '10.0.0.6' }),
      ],
      ['eth0'],
    );
    expect(kept.map((x) => x.address)).toEqual(['10.0.0.6']);
  });
});
