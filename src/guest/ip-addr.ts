// IP and MAC address text, parsed strictly and printed the way the kernel's tools print
// it (inet_ntop), so requested values compare equal to what `ip` shows. Pure.

export type IpFamily = 4 | 6;

export interface Ip {
  family: IpFamily;
  bytes: Uint8Array;
}

/** An address with a prefix length: an interface address or a route destination. */
export interface Cidr {
  family: IpFamily;
  /** Canonical text of the address (not necessarily the network). */
  address: string;
  prefix: number;
}

export const hostBits = (family: IpFamily): number => (family === 4 ? 32 : 128);

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (const [i, p] of parts.entries()) {
    // inet_pton refuses leading zeros (they used to mean octal).
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let text = s;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    // Embedded IPv4 in the last 32 bits (::ffff:1.2.3.4).
    tail = parseV4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] | undefined => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0] ?? '');
  const rest = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(missing).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (const [i, g] of all.entries()) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = Number.parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** undefined unless `s` is a plain IPv4 or IPv6 address (no zone, no prefix). */
export function parseIp(s: string): Ip | undefined {
  if (s.includes(':')) {
    const bytes = parseV6(s);
    return bytes && { family: 6, bytes };
  }
  const bytes = parseV4(s);
  return bytes && { family: 4, bytes };
}

/** inet_ntop's text: dotted quad, or RFC 5952 IPv6 (longest zero run of 2+ groups as ::). */
export function formatIp(ip: Ip): string {
  const b = ip.bytes;
  if (ip.family === 4) return Array.from(b).join('.');
  const words = Array.from({ length: 8 }, (_, i) => ((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (const [i, w] of words.entries()) {
    if (w === 0) {
      cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else {
      cur = { base: -1, len: 0 };
    }
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  // glibc keeps IPv4-compatible and IPv4-mapped addresses dotted.
  const v4Tail = best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && v4Tail) {
      out += Array.from(b.slice(12)).join('.');
      break;
    }
    out += (words[i] ?? 0).toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}

/** The canonical text of an address, or undefined if it is not one. */
export function canonicalIp(s: string): string | undefined {
  const ip = parseIp(s);
  return ip && formatIp(ip);
}

/** A prefix length written as a decimal string (Kata's `mask`), or undefined. */
export function parsePrefix(mask: string, family: IpFamily): number | undefined {
  if (!/^\d{1,3}$/.test(mask)) return undefined;
  const n = Number(mask);
  return n <= hostBits(family) ? n : undefined;
}

/** "a/n" or a bare address (a host prefix). */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const prefix = slash < 0 ? hostBits(ip.family) : parsePrefix(s.slice(slash + 1), ip.family);
  if (prefix === undefined) return undefined;
  return { family: ip.family, address: formatIp(ip), prefix };
}

export const cidrText = (c: Cidr): string => `${c.address}/${c.prefix}`;

/** The network of a prefix: host bits cleared. */
export function networkOf(c: Cidr): Cidr {
  const ip = parseIp(c.address);
  if (!ip) return c;
  const bytes = ip.bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, c.prefix - 8 * i));
    return byte & (0xff << (8 - keep)) & 0xff;
  });
  return { family: c.family, address: formatIp({ family: ip.family, bytes }), prefix: c.prefix };
}

/** fe80::/10, which the kernel gives every IPv6 link on its own. */
export function isLinkLocalV6(address: string): boolean {
  const ip = parseIp(address);
  return ip?.family === 6 && ip.bytes[0] === 0xfe && ((ip.bytes[1] ?? 0) & 0xc0) === 0x80;
}

/** Lowercase colon-separated 6-octet MAC, or undefined. Accepts `-` separators and any case. */
export function normalizeMac(s: string): string | undefined {
  const parts = s.trim().split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
}
