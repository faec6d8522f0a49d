import { describe, it, expect } from 'vitest';
import { parseShimFlags } from '../../src/shim/flags.js';
import { shimSocketPath, toUnixAddress, fromUnixAddress } from '../../src/shim/address.js';

describe('parseShimFlags', () => {
  it('parses what containerd 1.6 passes to start', () => {
    const f = parseShimFlags(['-namespace', 'default', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'c1', '-debug', 'start']);
    expect(f).toMatchObject({ action: 'start', namespace: 'default', address: '/run/containerd/containerd.sock', publishBinary: '/usr/bin/containerd', id: 'c1', debug: true });
  });

  it('accepts -f=v and --f v forms and runs the daemon without an action', () => {
    const f = parseShimFlags(['--namespace', 'k8s.io', '-id=abc', '-debug=false', '-bundle=/b']);
    expect(f).toMatchObject({ action: 'serve', namespace: 'k8s.io', id: 'abc', debug: false, bundle: '/b' });
  });

  it('recognises delete, -v and --version', () => {
    expect(parseShimFlags(['-namespace', 'n', '-id', 'x', '-bundle', '/b', 'delete']).action).toBe('delete');
    expect(parseShimFlags(['-v']).action).toBe('version');
    expect(parseShimFlags(['--version']).action).toBe('version');
  });

  it('rejects what Go flag rejects, naming the problem', () => {
    expect(() => parseShimFlags(['-id', 'x', 'start'])).toThrow('shim namespace cannot be empty');
    expect(() => parseShimFlags(['-namespace', 'n', '-bogus', 'start'])).toThrow('flag provided but not defined: -bogus');
    expect(() => parseShimFlags(['-namespace', 'n', '-id'])).toThrow('flag needs an argument: -id');
    expect(() => parseShimFlags(['-namespace', 'n', '-id', 'x', 'explode'])).toThrow('unknown action "explode"');
  });
});

describe('shim socket address', () => {
  it('matches containerd\'s formula (documented example)', () => {
    expect(toUnixAddress(shimSocketPath('/run/containerd/containerd.sock', 'k8s.io', 'abc'))).toBe(
      'unix:///run/containerd/s/a99a1752d3a0fadfb1f869026f16760475df03a572e20f4ccea9e6c1e5470b72',
    );
  });

  it('strips unix:// and leaves plain paths', () => {
    expect(fromUnixAddress('unix:///run/x.sock')).toBe('/run/x.sock');
    expect(fromUnixAddress('/run/x.sock')).toBe('/run/x.sock');
  });
});
