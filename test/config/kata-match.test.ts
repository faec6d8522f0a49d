import { describe, expect, it } from 'vitest';
import { globMatches, regexpMatches } from '../../src/config/kata-match.js';

describe('globMatches (Go filepath.Match)', () => {
  it.each([
    ['/usr/bin/qemu-system-x86_64', '/usr/bin/qemu-system-x86_64', true],
    ['/usr/bin/qemu-*', '/usr/bin/qemu-system-x86_64', true],
    ['/usr/*', '/usr/bin/qemu', false],
    ['/usr/bin/qemu-system-x86_6?', '/usr/bin/qemu-system-x86_64', true],
    ['/usr/lib/qemu/virtiofs[a-z]', '/usr/lib/qemu/virtiofsd', true],
    ['/usr/lib/qemu/virtiofs[^d]', '/usr/lib/qemu/virtiofsd', false],
    ['/opt/a.b', '/opt/aXb', false],
    ['/opt/\\*', '/opt/*', true],
    ['/opt/[', '/opt/[', false],
    ['/opt/[]a]', '/opt/]', false],
  ])('%s vs %s -> %s', (glob, path, expected) => {
    expect(globMatches(glob, path)).toBe(expected);
  });
});

describe('regexpMatches (Go regexp.MatchString)', () => {
  it('is unanchored and tolerates broken patterns', () => {
    expect(regexpMatches('kernel_params', 'kernel_params')).toBe(true);
    expect(regexpMatches('memory', 'default_memory')).toBe(true);
    expect(regexpMatches('^memory$', 'default_memory')).toBe(false);
    expect(regexpMatches('(', 'anything')).toBe(false);
  });
});
