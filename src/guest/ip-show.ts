// The guest's network as busybox `ip` shows it: `ip -o link`, `ip -o addr`, `ip route`.
// busybox 1.35's ip has no JSON output, so its one-line text is parsed here. Pure; the
// fixtures in test/guest/ip-show.test.ts are captured from that busybox.
import { canonicalIp, parseCidr, type Cidr, type IpFamily } from './ip-addr.js';

export interface IpLink {
  index: number;
  name: string;
  /** Lowercase MAC; '' for links without one. */
  mac: string;
  mtu: number;
  /** Flag names between < and >, e.g. BROADCAST, UP, LOWER_UP, NOARP. */
  flags: string[];
  /** link/<kind>: ether, loopback, none, ... */
  kind: string;
}

export interface IpAddrEntry {
  index: number;
  dev: string;
  cidr: Cidr;
  /** The remote end of a point-to-point address ("local peer remote/len"). */
  peer?: Cidr;
  /** global, link, host, ... */
  scope: string;
}

export interface IpRoute {
  family: IpFamily;
  /** unicast, local, broadcast, multicast, unreachable, ... */
  type: string;
  /** Canonical destination prefix; undefined for the default route. */
  dest: Cidr | undefined;
  gateway?: string;
  dev?: string;
  /** RT_SCOPE number: 0 universe, 200 site, 253 link, 254 host. */
  scope: number;
  src?: string;
  metric?: number;
  onlink: boolean;
}

export const isUp = (l: IpLink): boolean => l.flags.includes('UP');
export const isNoArp = (l: IpLink): boolean => l.flags.includes('NOARP');

/** Interface flag bits (IFF_*) by the names ip prints, for Interface.raw_flags. */
const IFF: Readonly<Record<string, number>> = {
  UP: 0x1,
  BROADCAST: 0x2,
  DEBUG: 0x4,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  NOTRAILERS: 0x20,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  ALLMULTI: 0x200,
  MASTER: 0x400,
  SLAVE: 0x800,
  MULTICAST: 0x1000,
  PORTSEL: 0x2000,
  AUTOMEDIA: 0x4000,
  DYNAMIC: 0x8000,
  LOWER_UP: 0x10000,
  DORMANT: 0x20000,
  ECHO: 0x40000,
};

export const rawFlags = (l: IpLink): number => l.flags.reduce((bits, f) => bits | (IFF[f] ?? 0), 0);

const SCOPES: Readonly<Record<string, number>> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
const SCOPE_NAMES: Readonly<Record<number, string>> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

/** The name `ip` understands for an RT_SCOPE number. */
export const scopeName = (scope: number): string => SCOPE_NAMES[scope] ?? String(scope);

function scopeNumber(s: string): number {
  return SCOPES[s] ?? (/^\d+$/.test(s) ? Number(s) : 0);
}

/** Drops the `@peer` busybox appends to the names of veth, vlan, ... links. */
const bareName = (s: string): string => s.replace(/@.*$/, '');

/** `ip -o link`: `3: eth0@if4: <BROADCAST,UP,LOWER_UP> mtu 1500 qdisc ... \    link/ether 02:..:01 brd ff:..` */
export function parseLinks(text: string): IpLink[] {
  const links: IpLink[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):\s+([^:\s]+):\s+<([^>]*)>(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, index, name, flags, rest] = m as unknown as [string, string, string, string, string];
    const link = /link\/(\S+)(?:\s+([0-9a-fA-F:]+))?/.exec(rest);
    links.push({
      index: Number(index),
      name: bareName(name),
      mac: link?.[1] === 'ether' || link?.[1] === 'loopback' ? (link[2] ?? '').toLowerCase() : '',
      mtu: Number(/\bmtu (\d+)/.exec(rest)?.[1] ?? 0),
      flags: flags.split(',').filter(Boolean),
      kind: link?.[1] ?? '',
    });
  }
  return links;
}

/** `ip -o addr`: `3: eth0    inet 10.0.0.5/24 scope global eth0\       valid_lft ...` */
export function parseAddrs(text: string): IpAddrEntry[] {
  const out: IpAddrEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):\s+(\S+)\s+(inet6?)\s+(\S+)(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, index, dev, , addr, rest] = m as unknown as [string, string, string, string, string, string];
    // A point-to-point address prints as "local peer remote/len": the prefix is the peer's.
    const peerText = /^\s*peer\s+(\S+)/.exec(rest)?.[1];
    const peer = peerText ? parseCidr(peerText) : undefined;
    const cidr = parseCidr(peer && !addr.includes('/') ? `${addr}/${peer.prefix}` : addr);
    if (!cidr) continue;
    const scope = /\bscope (\S+)/.exec(rest)?.[1] ?? 'global';
    out.push({ index: Number(index), dev: bareName(dev), cidr, ...(peer ? { peer } : {}), scope });
  }
  return out;
}

const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve']);
const ROUTE_FLAGS = new Set(['dead', 'onlink', 'pervasive', 'notify', 'linkdown', 'cache']);

/** One family's `ip route show` (busybox prints no "proto"; host routes without /32 or /128). */
export function parseRoutes(text: string, family: IpFamily): IpRoute[] {
  const out: IpRoute[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/).filter(Boolean);
    if (t.length === 0) continue;
    let i = 0;
    const type = ROUTE_TYPES.has(t[0] ?? '') ? (t[i++] as string) : 'unicast';
    const destText = t[i++] ?? '';
    let dest: Cidr | undefined;
    if (destText !== 'default') {
      dest = parseCidr(destText);
      if (!dest) continue;
    }
    const route: IpRoute = { family, type, dest, scope: 0, onlink: false };
    while (i < t.length) {
      const key = t[i++] as string;
      if (ROUTE_FLAGS.has(key)) {
        if (key === 'onlink') route.onlink = true;
        continue;
      }
      const value = t[i++] ?? '';
      if (key === 'via') route.gateway = canonicalIp(value) ?? value;
      else if (key === 'dev') route.dev = value;
      else if (key === 'scope') route.scope = scopeNumber(value);
      else if (key === 'src') route.src = canonicalIp(value) ?? value;
      else if (key === 'metric') route.metric = Number(value);
    }
    out.push(route);
  }
  return out;
}
