// Supervised children: exit reasons in words, inherited descriptors, frozen processes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SupervisedProcess, describeExit, exitReason } from '../../src/hypervisor/supervised-process.js';
import { isStoppedState, liveGroupMembers, parseProcStat, processState } from '../../src/hypervisor/proc-stat.js';

describe('exitReason', () => {
  it('says how the process ended', () => {
    expect(exitReason('qemu', 0, null)).toBe('qemu exited with code 0');
    expect(exitReason('qemu', null, 'SIGKILL')).toBe('qemu killed by SIGKILL');
    expect(exitReason('virtiofsd', null, null)).toBe('virtiofsd failed to start');
  });

  it('describeExit adds the last stderr lines', () => {
    expect(describeExit({ code: 1, signal: null, stderr: 'a\nb', reason: 'qemu exited with code 1' })).toBe('qemu exited with code 1: a | b');
  });
});

describe('parseProcStat', () => {
  it('reads state, parent, group and CPU time after the command name, even one with spaces and parentheses', () => {
    // A real line's first fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    expect(parseProcStat('1234 (qemu-system-x86) T 1 1234 1234 0 -1 4194304 1200 0 3 0 250 40 0 0 20 0')).toEqual({ state: 'T', ppid: 1, pgid: 1234, cpuTicks: 290 });
    expect(parseProcStat('77 (a) b) (c) S 5 70 70 0')).toEqual({ state: 'S', ppid: 5, pgid: 70, cpuTicks: 0 });
    expect(parseProcStat('garbage')).toBeUndefined();
    expect(isStoppedState('T')).toBe(true);
    expect(isStoppedState('t')).toBe(true);
    expect(isStoppedState('S')).toBe(false);
    expect(isStoppedState(undefined)).toBe(false);
  });
});

describe('SupervisedProcess', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'supervised-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes extra descriptors as fd 3, 4, ... although Node opened them close-on-exec', async () => {
    const a = openSync(join(dir, 'a'), 'w');
    const b = openSync(join(dir, 'b'), 'w');
    const p = new SupervisedProcess('sh', '/bin/sh', ['-c', 'echo three >&3; echo four >&4'], { extraFds: [a, b] });
    closeSync(a); // the child has its own copies from the fork on
    closeSync(b);
    const e = await p.exited;
    expect(e).toMatchObject({ code: 0, signal: null, reason: 'sh exited with code 0' });
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('three\n');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('four\n');
  });

  it('keeps stderr and names the exit', async () => {
    const e = await new SupervisedProcess('sh', '/bin/sh', ['-c', 'echo oops >&2; exit 3']).exited;
    expect(e).toEqual({ code: 3, signal: null, stderr: 'oops', reason: 'sh exited with code 3' });
  });

  it('reports a binary that cannot start', async () => {
    const e = await new SupervisedProcess('nothing', join(dir, 'no-such-binary'), []).exited;
    expect(e.reason).toBe('nothing failed to start');
    expect(e.stderr).toContain('ENOENT');
  });

  it('sees a SIGSTOPped process as frozen and stops it with SIGKILL at once', async () => {
    const p = new SupervisedProcess('sleep', '/bin/sleep', ['60']);
    await new Promise((r) => setTimeout(r, 50));
    process.kill(p.pid!, 'SIGSTOP');
    for (let i = 0; i < 100 && processState(p.pid!) !== 'T'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(p.frozen).toBe(true);
    // A 60 s grace would time the test out if SIGTERM (held while stopped) were sent first.
    const e = await p.stop(60_000);
    expect(e).toMatchObject({ signal: 'SIGKILL', reason: 'sleep killed by SIGKILL' });
    expect(p.frozen).toBe(false);
  }, 5000);

  it('stop() also ends what the process forked into its group, even when it outlives the leader', async () => {
    // The leader exits on SIGTERM; its fork ignores SIGTERM, as a slow virtiofsd server would seem to.
    const p = new SupervisedProcess('sh', '/bin/sh', ['-c', '(trap "" TERM; while :; do sleep 0.05; done) & wait']);
    await new Promise((r) => setTimeout(r, 100));
    expect(liveGroupMembers(p.pid!).length).toBeGreaterThanOrEqual(2);
    await p.stop(1000);
    expect(liveGroupMembers(p.pid!)).toEqual([]);
  }, 5000);
});
