import { describe, expect, it } from 'vitest';
import { debugConsoleRequested, logLevelFromCmdline, parseArgs, parseListen } from '../../src/guest/args.js';

describe('guest agent command line', () => {
  it('defaults to the VM setup', () => {
    expect(parseArgs([])).toMatchObject({
      listen: { kind: 'auto' },
      stateDir: '/run/kata-agent',
      sharedDir: '/run/kata-containers/shared/containers',
      sysfsRoot: '/sys',
      cgroupParent: '/kata-agent',
      telnetd: ['busybox', 'telnetd'],
      sandboxDir: '/run/kata-containers/sandbox',
      netns: undefined,
    });
  });

  it('parses every listen form', () => {
    expect(parseListen('unix:///tmp/a.sock')).toEqual({ kind: 'unix', path: '/tmp/a.sock' });
    expect(parseListen('vsock://-1:1024')).toEqual({ kind: 'vsock', port: 1024 });
    expect(parseListen('serial://agent.channel.0')).toEqual({ kind: 'serial', name: 'agent.channel.0' });
    expect(parseListen('auto')).toEqual({ kind: 'auto' });
    for (const bad of ['unix://rel', 'vsock://x', 'tcp://1.2.3.4:5', '']) expect(() => parseListen(bad)).toThrow(/--listen/);
  });

  it('takes flags with a separate or inline value and refuses unknown ones', () => {
    const a = parseArgs(['--state-dir=/s', '--shared-dir', '/sh', '--log-level', 'debug', '--telnetd', '/bin/busybox telnetd', '--cgroup-parent', '/x']);
    expect(a).toMatchObject({ stateDir: '/s', sharedDir: '/sh', logLevel: 'debug', telnetd: ['/bin/busybox', 'telnetd'], cgroupParent: '/x' });
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown argument "--bogus"/);
    expect(() => parseArgs(['--log-level', 'loud'])).toThrow(/--log-level loud/);
    expect(() => parseArgs(['--state-dir'])).toThrow(/--state-dir needs a value/);
    expect(() => parseArgs(['--cgroup-parent', '/'])).toThrow(/--cgroup-parent/);
    expect(parseArgs(['--netns', '/run/netns/t', '--sandbox-dir=/tmp/sb'])).toMatchObject({ netns: '/run/netns/t', sandboxDir: '/tmp/sb' });
    expect(() => parseArgs(['--netns', 'rel'])).toThrow(/--netns rel: expected an absolute path/);
  });

  it('serves the debug console only for the word agent.debug_console on the kernel command line', () => {
    expect(debugConsoleRequested('console=ttyS0 agent.debug_console quiet')).toBe(true);
    expect(debugConsoleRequested('agent.debug_console_vport=1026 quiet')).toBe(false);
    expect(debugConsoleRequested('console=ttyS0 quiet')).toBe(false);
    expect(parseArgs([]).debugConsole).toBe(false);
  });

  it('reads agent.log from the kernel command line', () => {
    expect(logLevelFromCmdline('console=ttyS0 agent.log=debug quiet')).toBe('debug');
    expect(logLevelFromCmdline('agent.log=chatty')).toBeUndefined();
    expect(logLevelFromCmdline('quiet')).toBeUndefined();
  });
});
