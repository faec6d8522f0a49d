// Parses iproute2's JSON output (`ip -j`, checked against iproute2 6.1) into our types.
// Pure; the fixtures in test/network/fixtures are real outputs captured on Debian 12.
import { internal } from '../errors/index.js';
import { NTF, NUD, RT_SCOPE, RTNH_F, type IpAddress, type IpFamily, type NetInterface, type NetNeighbor, type NetRoute } from './types.js';

/** The commands whose output these functions read, so errors and callers agree. */
export const READ_LINKS = ['ip', '-d', '-j', 'addr', 'show'] as const;
export const READ_ROUTES: Record<IpFamily, readonly string[]> = {
  ipv4: ['ip', '-j', 'route', 'show', 'table', 'main'],
  ipv6: ['ip', '-6', '-j', 'route', 'show', 'table', 'main'],
};
export const READ_NEIGHBORS = ['ip', '-j', 'neigh', 'show'] as const;

/** A main-table route with what decides whether the guest can have it. */
export interface RouteRow extends NetRoute {
  /** '' for unicast; 'blackhole', 'unreachable', ... otherwise (`ip` prints it only then). */
  type: string;
  /** Multipath routes keep their devices in `nexthops` and have no single device. */
  multipath: boolean;
  /** Who made it: 'kernel' for the connected subnet route, '' when `ip` leaves it out (boot). */
  protocol: string;
}

type Row = Record<string, unknown>;

/**
 * One `ip -d -j addr show` row per link, loopback included: `-d` adds linkinfo, so the
 * kind comes in the same snapshot as the addresses.
 */
export function parseLinks(json: string): NetInterface[] {
  return rows(json, READ_LINKS).map((r) => ({
    index: requiredNumber(r, 'ifindex', READ_LINKS),
    name: requiredString(r, 'ifname', READ_LINKS),
    kind: stringAt(objectAt(r, 'linkinfo'), 'info_kind') ?? '',
    mac: stringAt(r, 'address') ?? '',
    mtu: numberAt(r, 'mtu') ?? 0,
    addresses: rowsAt(r, 'addr_info').flatMap(toAddress),
    flags: stringsAt(r, 'flags'),
  }));
}

function toAddress(a: Row): IpAddress[] {
  const family = a['family'] === 'inet' ? 'ipv4' : a['family'] === 'inet6' ? 'ipv6' : undefined;
  const address = stringAt(a, 'local');
  const prefixLength = numberAt(a, 'prefixlen');
  return family && address && prefixLength !== undefined ? [{ family, address, prefixLength }] : [];
}

export function parseRoutes(json: string, family: IpFamily): RouteRow[] {
  const source = READ_ROUTES[family];
  return rows(json, source).map((r) => {
    const dst = requiredString(r, 'dst', source);
    const via = stringAt(objectAt(r, 'via'), 'host');
    return {
      family,
      dest: dst === 'default' ? '' : dst.includes('/') ? dst : `${dst}/${family === 'ipv4' ? 32 : 128}`,
      gateway: stringAt(r, 'gateway') ?? via ?? '',
      device: stringAt(r, 'dev') ?? '',
      source: stringAt(r, 'prefsrc') ?? '',
      scope: scopeNumber(r['scope'], source),
      flags: stringsAt(r, 'flags').reduce<number>((bits, f) => bits | (RTNH_F[f as keyof typeof RTNH_F] ?? 0), 0),
      type: stringAt(r, 'type') ?? '',
      multipath: Array.isArray(r['nexthops']),
      protocol: stringAt(r, 'protocol') ?? '',
    };
  });
}

/** `ip` prints a route's scope by name (universe as "global"), or as a number it has no name for. */
function scopeNumber(v: unknown, source: readonly string[]): number {
  if (v === undefined || v === 'global') return RT_SCOPE.universe;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return Number(v);
    const named = (RT_SCOPE as Record<string, number>)[v];
    if (named !== undefined) return named;
  }
  throw internal(`${source.join(' ')}: unknown route scope ${JSON.stringify(v)}`);
}

/** IPv4 and IPv6 neighbours: `ip neigh` without a family lists both. */
export function parseNeighbors(json: string): NetNeighbor[] {
  return rows(json, READ_NEIGHBORS).map((r) => {
    const address = requiredString(r, 'dst', READ_NEIGHBORS);
    return {
      family: familyOf(address),
      address,
      device: stringAt(r, 'dev') ?? '',
      mac: stringAt(r, 'lladdr') ?? '',
      state: stringsAt(r, 'state').reduce<number>((bits, s) => bits | (NUD[s as keyof typeof NUD] ?? 0), 0),
      // Flags are printed as keys with a null value: {"router": null}.
      flags: Object.entries(NTF).reduce((bits, [key, bit]) => (key in r ? bits | bit : bits), 0),
    };
  });
}

export const familyOf = (address: string): IpFamily => (address.includes(':') ? 'ipv6' : 'ipv4');

function rows(json: string, source: readonly string[]): Row[] {
  // Some iproute2 versions print nothing at all, rather than [], for an empty list.
  if (json.trim() === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw internal(`${source.join(' ')}: output is not JSON: ${(err as Error).message}`, err);
  }
  if (!Array.isArray(v) || !v.every(isRow)) throw internal(`${source.join(' ')}: expected a JSON array of objects`);
  return v;
}

const isRow = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringAt = (r: Row | undefined, k: string): string | undefined => (typeof r?.[k] === 'string' ? (r[k] as string) : undefined);
const numberAt = (r: Row, k: string): number | undefined => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
const objectAt = (r: Row, k: string): Row | undefined => (isRow(r[k]) ? (r[k] as Row) : undefined);

const listAt = (r: Row, k: string): unknown[] => (Array.isArray(r[k]) ? (r[k] as unknown[]) : []);
const rowsAt = (r: Row, k: string): Row[] => listAt(r, k).filter(isRow);
const stringsAt = (r: Row, k: string): string[] => listAt(r, k).filter((v): v is string => typeof v === 'string');

function requiredString(r: Row, k: string, source: readonly string[]): string {
  const v = stringAt(r, k);
  if (v === undefined) throw internal(`${source.join(' ')}: an entry has no "${k}": ${JSON.stringify(r).slice(0, 200)}`);
  return v;
}

function requiredNumber(r: Row, k: string, source: readonly string[]): number {
  const v = numberAt(r, k);
  if (v === undefined) throw internal(`${source.join(' ')}: an entry has no "${k}": ${JSON.stringify(r).slice(0, 200)}`);
  return v;
}
