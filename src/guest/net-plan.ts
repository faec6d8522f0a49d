// The network decisions: a checked request plus the guest's current links, addresses and
// routes in, the exact busybox commands out. Only what differs is changed, so a repeated
// request plans nothing (or only idempotent `route replace` / `arp -s`). Pure.
import { notFound } from '../errors/index.js';
import { cidrText, isLinkLocalV6, networkOf, type Cidr, type IpFamily } from './ip-addr.js';
import { isNoArp, isUp, scopeName, type IpAddrEntry, type IpLink, type IpRoute } from './ip-show.js';
import type { NeighborConfig, NicConfig, RouteConfig } from './net-request.js';

/** One busybox applet run. */
export interface IpCommand {
  applet: 'ip' | 'arp';
  args: string[];
}

export const commandText = (c: IpCommand): string => [c.applet, ...c.args].join(' ');

const ip = (...args: string[]): IpCommand => ({ applet: 'ip', args });
const fam = (f: IpFamily): string[] => (f === 6 ? ['-6'] : []);
const link = (dev: string, ...args: string[]): IpCommand => ip('link', 'set', 'dev', dev, ...args);

// lo's all-zero address is no NIC's.
export const findNic = (links: readonly IpLink[], mac: string): IpLink | undefined => links.find((l) => l.mac === mac && l.kind !== 'loopback');

/**
 * UpdateInterface: rename (the link must be down for that), MTU, ARP, addresses, up.
 * A rename takes the link down, which drops its IPv6 addresses (unless keep_addr_on_down),
 * so then the addresses are flushed and all added; otherwise only the difference is
 * applied, leaving the kernel's IPv6 link-local address and the routes alone.
 */
export function planInterface(cfg: NicConfig, links: readonly IpLink[], addrs: readonly IpAddrEntry[]): IpCommand[] {
  const nic = findNic(links, cfg.mac);
  if (!nic) throw notFound(`no network interface has MAC ${cfg.mac}`);
  const cmds: IpCommand[] = [];
  const name = cfg.name || nic.name;
  const renaming = name !== nic.name;
  if (renaming) {
    if (isUp(nic)) cmds.push(link(nic.name, 'down'));
    const holder = links.find((l) => l.name === name);
    if (holder) {
      // Kata swaps names with the link that has the wanted one: NICs probed in another
      // order than the host's still end up with the host's names.
      const tmp = `kata-swap${holder.index}`.slice(0, 15);
      if (isUp(holder)) cmds.push(link(holder.name, 'down'));
      cmds.push(link(holder.name, 'name', tmp), link(nic.name, 'name', name), link(tmp, 'name', nic.name));
      if (isUp(holder)) cmds.push(link(nic.name, 'up'));
    } else {
      cmds.push(link(nic.name, 'name', name));
    }
  }
  if (cfg.mtu && cfg.mtu !== nic.mtu) cmds.push(link(name, 'mtu', String(cfg.mtu)));
  if (cfg.noArp !== isNoArp(nic)) cmds.push(link(name, 'arp', cfg.noArp ? 'off' : 'on'));

  const wanted = new Map(cfg.addresses.map((a) => [cidrText(a), a]));
  const current = addrs.filter((a) => a.index === nic.index).map((a) => a.cidr);
  const add = (a: Cidr): IpCommand => ip(...fam(a.family), 'addr', 'add', cidrText(a), 'dev', name);
  if (renaming) {
    if (current.length) cmds.push(ip('addr', 'flush', 'dev', name));
    for (const a of wanted.values()) cmds.push(add(a));
  } else {
    const have = new Set(current.map(cidrText));
    for (const c of current) {
      if (!wanted.has(cidrText(c)) && !isLinkLocalV6(c.address)) cmds.push(ip(...fam(c.family), 'addr', 'del', cidrText(c), 'dev', name));
    }
    for (const [key, a] of wanted) if (!have.has(key)) cmds.push(add(a));
  }
  if (renaming || !isUp(nic)) cmds.push(link(name, 'up'));
  return cmds;
}

/** What identifies a route in the kernel's main table: family, destination, metric. */
function routeKey(family: IpFamily, dest: Cidr | undefined, metric: number | undefined): string {
  // Without a metric, ip adds IPv4 routes at 0 and IPv6 routes at 1024.
  return `${family} ${dest ? cidrText(dest) : 'default'} ${metric ?? (family === 6 ? 1024 : 0)}`;
}

/** The prefix routes the kernel adds for a link's addresses (and fe80::/64): never removed here. */
function isConnected(r: IpRoute, addrs: readonly IpAddrEntry[]): boolean {
  if (r.gateway || !r.dest) return false;
  const dest = r.dest;
  if (dest.family === 6 && cidrText(dest) === 'fe80::/64') return true;
  const covers = (c: Cidr): boolean => c.family === dest.family && c.prefix === dest.prefix && networkOf(c).address === dest.address;
  return addrs.some((a) => a.dev === r.dev && covers(a.peer ?? a.cidr));
}

const routeTarget = (dest: Cidr | undefined): string => (dest ? cidrText(dest) : 'default');

/**
 * UpdateRoutes: the routes of the named devices become the requested ones. Routes there
 * that are not requested go (except the kernel's prefix routes); the requested ones are
 * set with `route replace`, routes without a gateway first so every gateway is
 * reachable when its route is added.
 */
export function planRoutes(routes: readonly RouteConfig[], links: readonly IpLink[], addrs: readonly IpAddrEntry[], current: readonly IpRoute[]): IpCommand[] {
  const names = new Set(links.map((l) => l.name));
  for (const [n, r] of routes.entries()) {
    if (!names.has(r.device)) throw notFound(`routes[${n}] (${routeTarget(r.dest)}): device ${r.device} not found`);
  }
  const devices = new Set(routes.map((r) => r.device));
  const wanted = new Set(routes.map((r) => routeKey(r.family, r.dest, undefined)));
  const stale = current.filter(
    (r) => r.type === 'unicast' && r.dev !== undefined && devices.has(r.dev) && !isConnected(r, addrs) && !wanted.has(routeKey(r.family, r.dest, r.metric)),
  );
  const del = stale.map((r) =>
    ip(...fam(r.family), 'route', 'del', routeTarget(r.dest), ...(r.gateway ? ['via', r.gateway] : []), 'dev', r.dev ?? '', ...(r.metric !== undefined ? ['metric', String(r.metric)] : [])),
  );
  const ordered = [...routes.filter((r) => !r.gateway), ...routes.filter((r) => r.gateway)];
  const set = ordered.map((r) =>
    ip(
      ...fam(r.family),
      'route',
      'replace',
      routeTarget(r.dest),
      ...(r.gateway ? ['via', r.gateway] : []),
      'dev',
      r.device,
      ...(r.source ? ['src', r.source] : []),
      // The kernel ignores the scope of IPv6 routes.
      ...(r.family === 4 ? ['scope', scopeName(r.scope)] : []),
      ...(r.onlink ? ['onlink'] : []),
    ),
  );
  return [...del, ...set];
}

/** AddARPNeighbors: permanent IPv4 entries (`arp -s` replaces an existing one). */
export function planNeighbors(neighbors: readonly NeighborConfig[], links: readonly IpLink[]): IpCommand[] {
  const names = new Set(links.map((l) => l.name));
  return neighbors.map((nb, n) => {
    if (!names.has(nb.device)) throw notFound(`ARPNeighbors[${n}] (${nb.ip}): device ${nb.device} not found`);
    return { applet: 'arp', args: ['-i', nb.device, '-s', nb.ip, nb.mac] };
  });
}
