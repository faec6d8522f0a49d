import { describe, expect, it } from 'vitest';
import { interfaceToGrpc, neighborToGrpc, routeToGrpc } from '../../src/agent/network-messages.js';
import { types } from '../../src/gen/proto.js';
import type { PodNetwork } from '../../src/network/index.js';
import { guestNetworkFor, nicsFor } from '../../src/sandbox/network-plan.js';

// What CNI's bridge plugin leaves in a pod netns, as the network layer reads it.
const net: PodNetwork = {
  netnsPath: '/var/run/netns/cni-1',
  endpoints: [
    {
      tap: 'tap0_kata',
      iface: {
        index: 3,
        name: 'eth0',
        kind: 'veth',
        mac: '6e:1a:00:11:22:33',
        mtu: 1500,
        flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
        addresses: [
          { family: 'ipv4', address: '10.77.0.5', prefixLength: 24 },
          { family: 'ipv6', address: 'fe80::6c1a:ff:fe11:2233', prefixLength: 64 },
        ],
      },
    },
  ],
  routes: [
    { family: 'ipv4', dest: '10.77.0.0/24', gateway: '', device: 'eth0', source: '10.77.0.5', scope: 253, flags: 0 },
    { family: 'ipv4', dest: '', gateway: '10.77.0.1', device: 'eth0', source: '', scope: 0, flags: 0 },
  ],
  neighbors: [{ family: 'ipv4', address: '10.77.0.1', device: 'eth0', mac: 'aa:bb:cc:00:00:01', state: 0x80, flags: 0 }],
};

describe('the pod network for QEMU and for the agent', () => {
  it('gives QEMU one NIC per tap with the pod interface MAC and MTU', () => {
    expect(nicsFor(net)).toEqual([{ tap: 'tap0_kata', mac: '6e:1a:00:11:22:33', mtu: 1500 }]);
  });

  it("sends the agent Kata's Interface, Routes and ARPNeighbor messages", () => {
    const g = guestNetworkFor(net);
    expect(g.interfaces.map(interfaceToGrpc)).toEqual([
      {
        device: 'eth0',
        name: 'eth0',
        hwAddr: '6e:1a:00:11:22:33',
        mtu: 1500,
        type: 'veth',
        IPAddresses: [
          { family: types.IPFamily.v4, address: '10.77.0.5', mask: '24' },
          { family: types.IPFamily.v6, address: 'fe80::6c1a:ff:fe11:2233', mask: '64' },
        ],
      },
    ]);
    expect(g.routes.map(routeToGrpc)).toEqual([
      { dest: '10.77.0.0/24', gateway: '', device: 'eth0', source: '10.77.0.5', scope: 253, family: types.IPFamily.v4, flags: 0 },
      { dest: '', gateway: '10.77.0.1', device: 'eth0', source: '', scope: 0, family: types.IPFamily.v4, flags: 0 },
    ]);
    expect(g.neighbors.map(neighborToGrpc)).toEqual([
      { toIPAddress: { family: types.IPFamily.v4, address: '10.77.0.1', mask: '' }, device: 'eth0', lladdr: 'aa:bb:cc:00:00:01', state: 0x80, flags: 0 },
    ]);
  });

  it('encodes on the wire with the field numbers of types.proto', () => {
    const bytes = types.Interface.encode(types.Interface.create(interfaceToGrpc(guestNetworkFor(net).interfaces[0]!))).finish();
    const back = types.Interface.decode(bytes);
    expect(back.hwAddr).toBe('6e:1a:00:11:22:33');
    expect(back.IPAddresses[0]!.mask).toBe('24');
    // hwAddr is field 5, a length-delimited string: tag (5 << 3) | 2 = 0x2a.
    expect(Buffer.from(bytes).includes(Buffer.from([0x2a, 17]))).toBe(true);
  });
});
