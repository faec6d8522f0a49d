// The runner against the kernel without changing anything: our own netns, missing paths.
import { describe, it, expect } from 'vitest';
import { NetnsCommandError, isAlreadyGone, netnsRunner, probeNetns, runInNetns } from '../../src/network/netns-exec.js';
import { parseLinks } from '../../src/network/ip-json.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { rejection } from './rejection.js';

const failure = (p: Promise<unknown>) => rejection(p, NetnsCommandError);

describe('runInNetns', () => {
  it('runs ip inside the given netns and returns its stdout', async () => {
    const links = parseLinks(await runInNetns('/proc/self/ns/net', ['ip', '-d', '-j', 'addr', 'show', 'dev', 'lo']));
    expect(links.map((l) => l.name)).toEqual(['lo']);
  });

  it('fails with the command and its stderr, and knows a missing netns is already gone', async () => {
    const err = await failure(runInNetns('/var/run/netns/knt-never-created', ['ip', 'link', 'show']));
    expect(err.code).toBe(Code.INTERNAL);
    expect(err.argv).toEqual(['ip', 'link', 'show']);
    expect(err.message).toBe('`ip link show` in /var/run/netns/knt-never-created: nsenter: cannot open /var/run/netns/knt-never-created: No such file or directory');
    expect(isAlreadyGone(err)).toBe(true);
  });

  it('reports a namespace of another type as a failure, not as gone', async () => {
    const err = await failure(runInNetns('/proc/self/ns/uts', ['ip', 'link', 'show']));
    expect(err.stderr).toContain("reassociate to namespace 'ns/net' failed");
    expect(isAlreadyGone(err)).toBe(false);
  });

  it('knows a missing device is gone', async () => {
    const err = await failure(runInNetns('/proc/self/ns/net', ['ip', 'link', 'del', 'dev', 'knt-no-such-dev']));
    expect(err.stderr).toContain('Cannot find device "knt-no-such-dev"');
    expect(isAlreadyGone(err)).toBe(true);
  });

  it('kills a command that overruns its timeout', async () => {
    const started = Date.now();
    const err = await failure(netnsRunner(200)('/proc/self/ns/net', ['sleep', '5']));
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(err.message).toContain('timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('isAlreadyGone: only our command errors with a gone message', () => {
    const e = (stderr: string) => new NetnsCommandError(Code.INTERNAL, '/n', ['tc'], stderr, stderr);
    expect(isAlreadyGone(e('Error: Invalid handle.\n'))).toBe(true);
    expect(isAlreadyGone(e('RTNETLINK answers: No such file or directory\n'))).toBe(true);
    expect(isAlreadyGone(e('RTNETLINK answers: Operation not permitted\n'))).toBe(false);
    expect(isAlreadyGone(new RuntimeError(Code.INTERNAL, 'Cannot find device "x"'))).toBe(false);
  });
});

describe('probeNetns', () => {
  it('tells a namespace from a missing path and from a plain file or directory', async () => {
    expect(await probeNetns('/proc/self/ns/net')).toBe('present');
    expect(await probeNetns('/var/run/netns/knt-never-created')).toBe('missing');
    expect(await probeNetns('/etc/hostname/x')).toBe('missing');
    expect(await probeNetns('/tmp')).toBe('not-a-namespace');
  });
});
