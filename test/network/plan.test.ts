import { describe, it, expect } from 'vitest';
import { parseLinks } from '../../src/network/ip-json.js';
import { chooseEndpoints, isPodInterface, rollbackPlan, setupPlan, tapName, teardownPlan } from '../../src/network/plan.js';
import type { Endpoint, NetInterface } from '../../src/network/types.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { editedLinks, fixture } from './fixtures.js';

const NETNS = '/var/run/netns/cni-1234';
const DOWN = { flags: ['BROADCAST', 'MULTICAST'], addr_info: [] };
const UP = { flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'] };

const iface = (name: string, over: Partial<NetInterface> = {}): NetInterface => ({
  index: 2, name, kind: 'veth', mac: '02:00:00:00:00:01', mtu: 1500, addresses: [], flags: ['UP'], ...over,
});

function refusal(links: NetInterface[]): RuntimeError {
  try {
    chooseEndpoints(NETNS, links);
  } catch (err) {
    return err as RuntimeError;
  }
  throw new Error('expected a refusal');
}

describe('chooseEndpoints', () => {
  it('mirrors the CNI veth as tap0_kata and leaves loopback alone', () => {
    const endpoints = chooseEndpoints(NETNS, parseLinks(fixture('cni-pod/addr.json')));
    expect(endpoints.map((e) => [e.iface.name, e.tap, e.iface.mtu])).toEqual([['eth0', 'tap0_kata', 1450]]);
    expect(endpoints[0]?.iface.addresses).toHaveLength(3); // link-local too: the agent replaces the link's addresses
  });

  it('takes interfaces that are up or have an address, in ifindex order, numbering the taps', () => {
    const links = parseLinks(editedLinks('mixed-kinds/addr.json', { br0: null, tapx: null }));
    // mv0 is down but has an address; eth0 is up; vx0 and the idle veth pair are down without addresses.
    expect(chooseEndpoints(NETNS, links).map((e) => [e.iface.name, e.iface.kind, e.tap])).toEqual([
      ['mv0', 'macvlan', 'tap0_kata'],
      ['eth0', 'veth', 'tap1_kata'],
    ]);
  });

  it('accepts ipvlan and physical links (no linkinfo kind)', () => {
    const links = [iface('ipv0', { index: 3, kind: 'ipvlan' }), iface('ens3', { index: 2, kind: '' })];
    expect(chooseEndpoints(NETNS, links).map((e) => [e.iface.name, e.tap])).toEqual([['ens3', 'tap0_kata'], ['ipv0', 'tap1_kata']]);
  });

  it('refuses a bridge, naming it and its type, with Kata-like wording', () => {
    const err = refusal(parseLinks(fixture('mixed-kinds/addr.json')));
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toBe(
      `pod network ${NETNS}: interface br0 of type bridge cannot be mirrored into the VM (supported: veth, macvlan, ipvlan, physical)`,
    );
  });

  it('refuses a vxlan that is up', () => {
    const links = parseLinks(editedLinks('mixed-kinds/addr.json', { br0: null, tapx: null, vx0: UP }));
    expect(refusal(links).message).toContain('interface vx0 of type vxlan cannot be mirrored');
  });

  it('refuses a dummy with an address (this kernel builds no dummy: an edited row)', () => {
    const links = parseLinks(
      editedLinks('mixed-kinds/addr.json', {
        br0: null,
        tapx: null,
        idle1: { ifname: 'dummy0', linkinfo: { info_kind: 'dummy' }, addr_info: [{ family: 'inet', local: '10.1.1.1', prefixlen: 32 }] },
      }),
    );
    expect(refusal(links).message).toContain('interface dummy0 of type dummy cannot be mirrored');
  });

  it('refuses a tun/tap that is up', () => {
    const links = parseLinks(editedLinks('mixed-kinds/addr.json', { br0: null }));
    expect(refusal(links).message).toContain('interface tapx of type tun cannot be mirrored');
  });

  it('ignores unsupported kinds that are down without addresses', () => {
    const links = parseLinks(editedLinks('mixed-kinds/addr.json', { br0: DOWN, tapx: DOWN }));
    expect(chooseEndpoints(NETNS, links).map((e) => e.iface.name)).toEqual(['mv0', 'eth0']);
  });

  it('refuses when a tap name it would use is already taken, rather than touch that device', () => {
    const links = [iface('eth0'), iface('tap0_kata', { index: 9, kind: 'tun', flags: [] })];
    const err = refusal(links);
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toBe(`pod network ${NETNS}: a device named tap0_kata already exists (left over from an earlier sandbox?)`);
  });

  it('returns no endpoints for a netns with only loopback', () => {
    expect(chooseEndpoints(NETNS, [iface('lo', { kind: '', flags: ['LOOPBACK', 'UP'] })])).toEqual([]);
  });

  it('isPodInterface: loopback never, otherwise up or addressed', () => {
    expect(isPodInterface(iface('lo', { flags: ['LOOPBACK', 'UP'] }))).toBe(false);
    expect(isPodInterface(iface('eth0', { flags: [] }))).toBe(false);
    expect(isPodInterface(iface('eth0', { flags: [], addresses: [{ family: 'ipv4', address: '10.0.0.2', prefixLength: 24 }] }))).toBe(true);
    expect(tapName(3)).toBe('tap3_kata');
  });
});

const endpoints: Endpoint[] = [
  { iface: iface('eth0', { mtu: 1450 }), tap: 'tap0_kata' },
  { iface: iface('net1', { index: 3, kind: 'macvlan', mtu: 9000 }), tap: 'tap1_kata' },
];

describe('setupPlan', () => {
  it('creates the tap with the interface MTU, then redirects tap->veth and veth->tap with ingress qdiscs', () => {
    const steps = setupPlan(endpoints.slice(0, 1));
    expect(steps.map((s) => s.argv.join(' '))).toEqual([
      'ip tuntap add dev tap0_kata mode tap',
      'ip link set dev tap0_kata mtu 1450 up',
      'tc qdisc add dev tap0_kata handle ffff: ingress',
      'tc filter add dev tap0_kata parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev eth0',
      'tc qdisc add dev eth0 handle ffff: ingress',
      'tc filter add dev eth0 parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev tap0_kata',
    ]);
    expect(steps.every((s) => s.iface === 'eth0')).toBe(true);
  });

  it('never touches the pod interface beyond its ingress qdisc (no address moves, no MTU or state change)', () => {
    const onVeth = setupPlan(endpoints).filter((s) => s.argv.includes('eth0') && s.argv[0] === 'ip');
    expect(onVeth).toEqual([]);
  });

  it('plans one block of six steps per endpoint, in order', () => {
    const steps = setupPlan(endpoints);
    expect(steps).toHaveLength(12);
    expect(steps[7]?.argv.join(' ')).toBe('ip link set dev tap1_kata mtu 9000 up');
    expect(steps.slice(6).every((s) => s.iface === 'net1')).toBe(true);
  });
});

describe('rollbackPlan', () => {
  const steps = setupPlan(endpoints);

  it('undoes nothing when nothing was done', () => {
    expect(rollbackPlan(steps, 0)).toEqual([]);
  });

  it('deletes the tap when it failed mid-way through the first endpoint', () => {
    expect(rollbackPlan(steps, 3)).toEqual([['ip', 'link', 'del', 'dev', 'tap0_kata']]);
  });

  it('removes the veth ingress qdisc before the tap, newest first, across endpoints', () => {
    expect(rollbackPlan(steps, 7).map((a) => a.join(' '))).toEqual([
      'ip link del dev tap1_kata',
      'tc qdisc del dev eth0 handle ffff: ingress',
      'ip link del dev tap0_kata',
    ]);
  });

  it('after every step it removes exactly what teardown removes', () => {
    const sorted = (cmds: string[][]) => cmds.map((a) => a.join(' ')).sort();
    expect(sorted(rollbackPlan(steps, steps.length))).toEqual(sorted(teardownPlan(endpoints)));
  });
});

describe('teardownPlan', () => {
  it('removes the veth ingress qdisc (and with it the filter), then the tap', () => {
    expect(teardownPlan(endpoints).map((a) => a.join(' '))).toEqual([
      'tc qdisc del dev eth0 handle ffff: ingress',
      'ip link del dev tap0_kata',
      'tc qdisc del dev net1 handle ffff: ingress',
      'ip link del dev tap1_kata',
    ]);
  });
});
