// dialWithRetry: retrying while the VM boots, and the error that says what was tried.
import { PassThrough, type Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dialWithRetry } from '../../../src/agent/transport/retry.js';
import { Code, RuntimeError } from '../../../src/errors/index.js';

const refused = (): Error =>
  Object.assign(new Error('connect ECONNREFUSED /run/vc/vm/x/agent.sock'), { code: 'ECONNREFUSED' });

describe('dialWithRetry', () => {
  it('returns the first connection that succeeds after N failures', async () => {
    let calls = 0;
    const stream = new PassThrough();
    const result = await dialWithRetry(
      async () => {
        calls++;
        if (calls <= 3) throw refused();
        return stream;
      },
      { timeoutMs: 5000, intervalMs: 5 },
    );
    expect(result).toBe(stream);
    expect(calls).toBe(4);
  });

  it('times out with UNAVAILABLE naming the target, the attempts and the last error', async () => {
    let calls = 0;
    const err = await dialWithRetry(
      async () => {
        calls++;
        throw calls === 1 ? new Error('ENOENT: no socket yet') : refused();
      },
      { timeoutMs: 300, intervalMs: 20, target: 'serial:///run/vc/vm/x/agent.chardev' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    const e = err as RuntimeError;
    expect(e.code).toBe(Code.UNAVAILABLE);
    expect(e.message).toMatch(new RegExp(`^dial serial:///run/vc/vm/x/agent.chardev: not reachable after ${calls} attempts in \\d+ ms \\(timeout 300 ms\\)`));
    expect(calls).toBeGreaterThan(3);
    expect(e.message).toContain('last error: connect ECONNREFUSED /run/vc/vm/x/agent.sock');
    expect(e.message).toContain('errors seen: ENOENT: no socket yet; connect ECONNREFUSED /run/vc/vm/x/agent.sock (x');
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('retries connections that fail the readiness check, and closes them', async () => {
    const made: Duplex[] = [];
    let probes = 0;
    const result = await dialWithRetry(
      async () => {
        const s = new PassThrough();
        made.push(s);
        return s;
      },
      { timeoutMs: 5000, intervalMs: 5 },
      async () => ++probes >= 3,
    );
    expect(made).toHaveLength(3);
    expect(result).toBe(made[2]);
    expect(made.slice(0, 2).every((s) => s.destroyed)).toBe(true);
    expect(result.destroyed).toBe(false);
  });

  it('gives up on an attempt still pending at the deadline and closes it if it arrives late', async () => {
    const late = new PassThrough();
    let resolveLate!: (d: Duplex) => void;
    const err = await dialWithRetry(() => new Promise<Duplex>((r) => (resolveLate = r)), { timeoutMs: 100 }).catch(
      (e: unknown) => e,
    );
    expect((err as RuntimeError).code).toBe(Code.UNAVAILABLE);
    expect((err as Error).message).toContain('not reachable after 1 attempt in');
    expect((err as Error).message).toContain('the last attempt was still pending at the timeout');
    resolveLate(late);
    await new Promise((r) => setImmediate(r));
    expect(late.destroyed).toBe(true);
  });

  it('passes the attempt a signal that fires at the deadline', async () => {
    let seen: AbortSignal | undefined;
    await dialWithRetry(
      (signal) => {
        seen = signal;
        return new Promise<Duplex>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { timeoutMs: 50 },
    ).catch(() => {});
    expect(seen?.aborted).toBe(true);
  });

  it('stops with CANCELLED when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await dialWithRetry(async () => Promise.reject(refused()), {
      timeoutMs: 5000,
      intervalMs: 10,
      signal: ac.signal,
      target: 'vsock://3:1024',
    }).catch((e: unknown) => e);
    expect((err as RuntimeError).code).toBe(Code.CANCELLED);
    expect((err as Error).message).toMatch(/^dial vsock:\/\/3:1024: aborted after \d+ attempts/);
  });
});
