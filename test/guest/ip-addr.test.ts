import { describe, expect, it } from 'vitest';
import { canonicalIp, isLinkLocalV6, networkOf, normalizeMac, parseCidr, parseIp, parsePrefix } from '../../src/guest/ip-addr.js';

describe('IP and MAC address text', () => {
  it('prints addresses as inet_ntop does (what busybox ip shows)', () => {
    const cases: [string, string][] = [
      ['10.88.0.5', '10.88.0.5'],
      ['0.0.0.0', '0.0.0.0'],
      ['FD00:0:0:0:0:0:0:5', 'fd00::5'],
      ['fd00::', 'fd00::'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
      ['fe80::1cfd:29ff:fec2:1fca', 'fe80::1cfd:29ff:fec2:1fca'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal zero runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
      ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
      ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
      ['::ffff:a01:203', '::ffff:10.1.2.3'],
      ['::10.1.2.3', '::10.1.2.3'],
    ];
    for (const [input, out] of cases) expect(canonicalIp(input), input).toBe(out);
  });

  it('refuses what inet_pton refuses', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-1', 'a.b.c.d', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', 'g::1', '12345::', '1:2:3:4:5:6:7::8:9', '10.0.0.1/24']) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
    expect(parseIp('1:2:3:4:5:6:7:8')?.family).toBe(6);
    expect(parseIp('1:2:3:4:5:6::')?.family).toBe(6);
  });

  it('parses prefixes (decimal only, within the family) and CIDRs', () => {
    expect(parsePrefix('24', 4)).toBe(24);
    expect(parsePrefix('0', 4)).toBe(0);
    expect(parsePrefix('33', 4)).toBeUndefined();
    expect(parsePrefix('128', 6)).toBe(128);
    for (const bad of ['', '255.255.255.0', '-1', '1e1', ' 24']) expect(parsePrefix(bad, 4), bad).toBeUndefined();
    expect(parseCidr('10.88.0.5/16')).toEqual({ family: 4, address: '10.88.0.5', prefix: 16 });
    expect(parseCidr('10.88.7.7')).toEqual({ family: 4, address: '10.88.7.7', prefix: 32 });
    expect(parseCidr('FD00:0::/64')).toEqual({ family: 6, address: 'fd00::', prefix: 64 });
    expect(parseCidr('10.0.0.0/40')).toBeUndefined();
  });

  it('computes networks and knows link-local IPv6', () => {
    expect(networkOf({ family: 4, address: '10.88.0.5', prefix: 16 }).address).toBe('10.88.0.0');
    expect(networkOf({ family: 4, address: '10.88.3.5', prefix: 20 }).address).toBe('10.88.0.0');
    expect(networkOf({ family: 4, address: '10.88.3.5', prefix: 0 }).address).toBe('0.0.0.0');
    expect(networkOf({ family: 6, address: 'fd00::5', prefix: 64 }).address).toBe('fd00::');
    expect(networkOf({ family: 6, address: 'fd00:1:2:3:4::5', prefix: 56 }).address).toBe('fd00:1:2::');
    expect(isLinkLocalV6('fe80::1')).toBe(true);
    expect(isLinkLocalV6('febf::1')).toBe(true);
    expect(isLinkLocalV6('fec0::1')).toBe(false);
    expect(isLinkLocalV6('10.0.0.1')).toBe(false);
  });

  it('normalizes MACs for case-insensitive comparison', () => {
    expect(normalizeMac('02:00:00:AA:BB:0C')).toBe('02:00:00:aa:bb:0c');
    expect(normalizeMac('2-0-0-aa-bb-c')).toBe('02:00:00:aa:bb:0c');
    for (const bad of ['', '02:00:00:aa:bb', '02:00:00:aa:bb:cc:dd', 'zz:00:00:aa:bb:cc', '0200.00aa.bbcc']) expect(normalizeMac(bad), bad).toBeUndefined();
  });
});
