// Network values in Kata's agent messages (types.proto): families as the IPFamily enum,
// prefix lengths as the decimal string `mask`, the NIC named by `device` and `name` alike.
import { types } from '../gen/proto.js';
import type { GuestInterface, GuestIpAddress, GuestNeighbor, GuestRoute } from './agent.js';

const family = (f: 'ipv4' | 'ipv6'): types.IPFamily => (f === 'ipv4' ? types.IPFamily.v4 : types.IPFamily.v6);

const addressToGrpc = (a: GuestIpAddress): types.IPAddress.$Properties => ({
  family: family(a.family),
  address: a.address,
  mask: String(a.prefixLength),
});

export const interfaceToGrpc = (i: GuestInterface): types.Interface.$Properties => ({
  device: i.name,
  name: i.name,
  IPAddresses: i.addresses.map(addressToGrpc),
  mtu: i.mtu,
  hwAddr: i.mac,
  type: i.kind,
});

export const routeToGrpc = (r: GuestRoute): types.Route.$Properties => ({
  dest: r.dest,
  gateway: r.gateway,
  device: r.device,
  source: r.source,
  scope: r.scope,
  family: family(r.family),
  flags: r.flags,
});

export const neighborToGrpc = (n: GuestNeighbor): types.ARPNeighbor.$Properties => ({
  toIPAddress: { family: family(n.family), address: n.address, mask: '' },
  device: n.device,
  lladdr: n.mac,
  state: n.state,
  flags: n.flags,
});
