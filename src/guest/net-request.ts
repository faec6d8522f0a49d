// Kata's network messages (types.proto) checked once and turned into typed values, and
// the guest's state turned back into them. INVALID_ARGUMENT names the field at fault.
// Pure.
import { types } from '../gen/proto.js';
import { invalidArgument, unimplemented } from '../errors/index.js';
import { canonicalIp, cidrText, hostBits, networkOf, normalizeMac, parseCidr, parseIp, parsePrefix, type Cidr, type IpFamily } from './ip-addr.js';
import { rawFlags, type IpAddrEntry, type IpLink, type IpRoute } from './ip-show.js';

export interface NicConfig {
  /** Lowercase MAC: how the NIC is found. */
  mac: string;
  /** Wanted name; '' keeps the current one. */
  name: string;
  /** 0 keeps the current MTU. */
  mtu: number;
  addresses: Cidr[];
  /** raw_flags has IFF_NOARP. */
  noArp: boolean;
}

export interface RouteConfig {
  family: IpFamily;
  /** undefined: the default route. */
  dest: Cidr | undefined;
  gateway: string | undefined;
  device: string;
  /** Preferred source address. */
  source: string | undefined;
  /** RT_SCOPE number. */
  scope: number;
  onlink: boolean;
}

export interface NeighborConfig {
  ip: string;
  device: string;
  mac: string;
}

const IFF_NOARP = 0x80;
const RTNH_F_ONLINK = 0x4;
/** IFNAMSIZ is 16 with the terminating NUL. */
const IFNAME = /^[^/:\s]{1,15}$/;

const familyOf = (f: types.IPFamily | null | undefined): IpFamily => (f === types.IPFamily.v6 ? 6 : 4);
const toFamily = (f: IpFamily): types.IPFamily => (f === 6 ? types.IPFamily.v6 : types.IPFamily.v4);

/** An address's family wins over the enum, whose v4 = 0 cannot be told from "not set"; v6 with an IPv4 address is a contradiction. */
function checkFamily(what: string, declared: types.IPFamily | null | undefined, actual: IpFamily): void {
  if (familyOf(declared) === 6 && actual === 4) throw invalidArgument(`${what}: family is v6 but the address is IPv4`);
}

export function nicFromGrpc(i: types.Interface.$Properties | null | undefined): NicConfig {
  if (!i) throw invalidArgument('UpdateInterface: no interface given');
  if (!i.hwAddr) throw invalidArgument(`interface ${i.name ?? ''}: hwAddr is empty (the NIC is found by its MAC)`);
  const mac = normalizeMac(i.hwAddr);
  if (!mac) throw invalidArgument(`interface ${i.name ?? ''}: hwAddr ${JSON.stringify(i.hwAddr)} is not a MAC address`);
  const what = `interface ${mac}`;
  const name = i.name ?? '';
  if (name && (!IFNAME.test(name) || name === '.' || name === '..')) {
    throw invalidArgument(`${what}: name ${JSON.stringify(name)} is not a valid interface name (1-15 characters, no / : or spaces)`);
  }
  const mtu = Number(i.mtu ?? 0);
  if (mtu !== 0 && (mtu < 68 || mtu > 65535)) throw invalidArgument(`${what}: mtu ${mtu} is out of range (68-65535, or 0 to keep it)`);
  const addresses = (i.IPAddresses ?? []).map((a, n): Cidr => {
    const field = `${what}: IPAddresses[${n}]`;
    const ip = parseIp(a.address ?? '');
    if (!ip) throw invalidArgument(`${field}.address ${JSON.stringify(a.address ?? '')} is not an IPv4 or IPv6 address`);
    checkFamily(field, a.family, ip.family);
    const prefix = parsePrefix(a.mask ?? '', ip.family);
    if (prefix === undefined) throw invalidArgument(`${field}.mask ${JSON.stringify(a.mask ?? '')} is not a prefix length (0-${hostBits(ip.family)})`);
    return { family: ip.family, address: canonicalIp(a.address ?? '') ?? '', prefix };
  });
  return { mac, name, mtu, addresses, noArp: ((i.rawFlags ?? 0) & IFF_NOARP) !== 0 };
}

export function routesFromGrpc(routes: readonly types.Route.$Properties[]): RouteConfig[] {
  return routes.map((r, n) => {
    const what = `routes[${n}] (${r.dest || 'default'} dev ${r.device ?? ''})`;
    if (!r.device) throw invalidArgument(`${what}: device is empty`);
    const families = new Set<IpFamily>();
    let dest: Cidr | undefined;
    if (r.dest && r.dest !== 'default') {
      const c = parseCidr(r.dest);
      if (!c) throw invalidArgument(`${what}: dest ${JSON.stringify(r.dest)} is not an address or CIDR`);
      const net = networkOf(c);
      if (net.address !== c.address) throw invalidArgument(`${what}: dest ${r.dest} has host bits set (the network is ${cidrText(net)})`);
      families.add(c.family);
      dest = c.prefix === 0 ? undefined : c;
    }
    const address = (field: 'gateway' | 'source', value: string | null | undefined): string | undefined => {
      if (!value) return undefined;
      const c = parseCidr(value);
      if (!c || c.prefix !== hostBits(c.family)) throw invalidArgument(`${what}: ${field} ${JSON.stringify(value)} is not an IP address`);
      families.add(c.family);
      return c.address;
    };
    const gateway = address('gateway', r.gateway);
    const source = address('source', r.source);
    if (families.size > 1) throw invalidArgument(`${what}: dest, gateway and source mix IPv4 and IPv6`);
    const family = [...families][0] ?? familyOf(r.family);
    checkFamily(what, r.family, family);
    const scope = Number(r.scope ?? 0);
    if (!Number.isInteger(scope) || scope < 0 || scope > 255) throw invalidArgument(`${what}: scope ${scope} is not an RT_SCOPE value (0-255)`);
    return { family, dest, gateway, device: r.device, source, scope, onlink: ((r.flags ?? 0) & RTNH_F_ONLINK) !== 0 };
  });
}

export function neighborsFromGrpc(neighbors: readonly types.ARPNeighbor.$Properties[]): NeighborConfig[] {
  return neighbors.map((nb, n) => {
    const what = `ARPNeighbors[${n}] (${nb.toIPAddress?.address ?? ''} lladdr ${nb.lladdr ?? ''} dev ${nb.device ?? ''})`;
    const ip = parseIp(nb.toIPAddress?.address ?? '');
    if (!ip) throw invalidArgument(`${what}: toIPAddress.address ${JSON.stringify(nb.toIPAddress?.address ?? '')} is not an IP address`);
    if (ip.family === 6 || familyOf(nb.toIPAddress?.family) === 6) {
      throw unimplemented(`${what}: IPv6 neighbours cannot be added in this guest (busybox ip has no "neigh add", busybox arp is IPv4 only)`);
    }
    if (!nb.device) throw invalidArgument(`${what}: device is empty`);
    const mac = normalizeMac(nb.lladdr ?? '');
    if (!mac) throw invalidArgument(`${what}: lladdr ${JSON.stringify(nb.lladdr ?? '')} is not a MAC address`);
    return { ip: canonicalIp(nb.toIPAddress?.address ?? '') ?? '', device: nb.device, mac };
  });
}

const addressToGrpc = (c: Cidr): types.IPAddress.$Properties => ({ family: toFamily(c.family), address: c.address, mask: String(c.prefix) });

/** A link as Kata's Interface, with its addresses (as ListInterfaces reports it). */
export function interfaceToGrpc(link: IpLink, addrs: readonly IpAddrEntry[]): types.Interface.$Properties {
  return {
    device: link.name,
    name: link.name,
    IPAddresses: addrs.filter((a) => a.index === link.index).map((a) => addressToGrpc(a.cidr)),
    mtu: link.mtu,
    hwAddr: link.mac,
    rawFlags: rawFlags(link),
  };
}

/** A route as Kata's Route: dest '' for the default route, as the runtime sends it. */
export function routeToGrpc(r: RouteConfig | IpRoute): types.Route.$Properties {
  const dev = 'device' in r ? r.device : r.dev;
  const source = 'source' in r ? r.source : r.src;
  return {
    dest: r.dest ? cidrText(r.dest) : '',
    gateway: r.gateway ?? '',
    device: dev ?? '',
    source: source ?? '',
    scope: r.scope,
    family: toFamily(r.family),
    flags: r.onlink ? RTNH_F_ONLINK : 0,
  };
}
