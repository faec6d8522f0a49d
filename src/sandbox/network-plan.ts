// The pod network as the two sides of the VM need it: the NICs QEMU gives the guest
// (one per mirrored pod interface, same MAC and MTU) and what the agent configures on
// them (Kata's UpdateInterface / UpdateRoutes / AddARPNeighbors). Pure.
import type { GuestInterface, GuestNeighbor, GuestRoute } from '../agent/agent.js';
import type { VmNic } from '../hypervisor/hypervisor.js';
import type { PodNetwork } from '../network/index.js';

export interface GuestNetwork {
  readonly interfaces: readonly GuestInterface[];
  readonly routes: readonly GuestRoute[];
  readonly neighbors: readonly GuestNeighbor[];
}

export const nicsFor = (net: PodNetwork): VmNic[] =>
  net.endpoints.map((e) => ({ tap: e.tap, mac: e.iface.mac, mtu: e.iface.mtu }));

export function guestNetworkFor(net: PodNetwork): GuestNetwork {
  return {
    interfaces: net.endpoints.map((e) => ({
      name: e.iface.name,
      mac: e.iface.mac,
      mtu: e.iface.mtu,
      kind: e.iface.kind,
      addresses: e.iface.addresses.map((a) => ({ family: a.family, address: a.address, prefixLength: a.prefixLength })),
    })),
    routes: net.routes.map((r) => ({ family: r.family, dest: r.dest, gateway: r.gateway, device: r.device, source: r.source, scope: r.scope, flags: r.flags })),
    neighbors: net.neighbors.map((n) => ({ family: n.family, address: n.address, device: n.device, mac: n.mac, state: n.state, flags: n.flags })),
  };
}
