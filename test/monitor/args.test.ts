import { describe, expect, it } from 'vitest';
import { parseListenAddress, parseMonitorArgs } from '../../src/monitor/args.js';

describe('kata-monitor flags', () => {
  it("defaults to Kata's 127.0.0.1:8090 and /run/vc/sbs", () => {
    expect(parseMonitorArgs([])).toMatchObject({ kind: 'run', listen: { host: '127.0.0.1', port: 8090 }, sandboxesRoot: '/run/vc/sbs', shimTimeoutMs: 5000, logLevel: 'info' });
  });

  it('takes Go-style and GNU-style flags, and Kata flags it does not need', () => {
    expect(parseMonitorArgs(['-listen-address', ':9000', '--sandboxes-dir=/tmp/sbs', '--scrape-timeout', '0.5', '--log-level=panic', '--runtime-endpoint', '/run/containerd/containerd.sock'])).toEqual({
      kind: 'run',
      listen: { host: '', port: 9000 },
      listenText: ':9000',
      sandboxesRoot: '/tmp/sbs',
      shimTimeoutMs: 500,
      logLevel: 'fatal',
      runtimeEndpoint: '/run/containerd/containerd.sock',
    });
    expect(parseMonitorArgs(['version'])).toEqual({ kind: 'version' });
    expect(parseMonitorArgs(['--help'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['--listen-address', '8090'], /expected host:port/],
    [['--listen-address'], /needs a value/],
    [['--scrape-timeout', '0'], /positive number/],
    [['--log-level', 'loud'], /expected one of/],
    [['--port', '1'], /unknown argument "--port"/],
  ])('refuses %j', (argv, message) => {
    const r = parseMonitorArgs(argv);
    expect(r.kind).toBe('usage-error');
    expect(r.kind === 'usage-error' && r.message).toMatch(message);
  });

  it('listen addresses', () => {
    expect(parseListenAddress('[::1]:8090')).toEqual({ host: '::1', port: 8090 });
    expect(parseListenAddress('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseListenAddress('localhost:70000')).toBeUndefined();
  });
});
