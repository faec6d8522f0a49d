import { describe, expect, it } from 'vitest';
import { OomQueue } from '../../src/guest/oom-queue.js';
import { Code, RuntimeError } from '../../src/errors/index.js';

describe('OomQueue (GetOOMEvent long poll)', () => {
  it('hands each event to the next poller, queueing while nobody polls', async () => {
    const q = new OomQueue();
    const waiting = q.next();
    q.push('a');
    expect(await waiting).toBe('a');
    q.push('b');
    q.push('c');
    expect(await q.next()).toBe('b');
    expect(await q.next()).toBe('c');
  });

  it('coalesces a burst for one container until it is taken', async () => {
    const q = new OomQueue();
    q.push('a');
    q.push('a');
    q.push('b');
    q.push('a');
    expect([await q.next(), await q.next()]).toEqual(['a', 'b']);
    q.push('a');
    expect(await q.next()).toBe('a');
  });

  it('drops an aborted poller without losing the next event', async () => {
    const q = new OomQueue();
    const ac = new AbortController();
    const gone = q.next(ac.signal);
    ac.abort(new Error('client left'));
    await expect(gone).rejects.toThrow('client left');
    q.push('a');
    expect(await q.next()).toBe('a');
  });

  it('fails pollers with UNAVAILABLE when closed', async () => {
    const q = new OomQueue();
    const waiting = q.next();
    q.close();
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.UNAVAILABLE);
    await expect(q.next()).rejects.toThrow(/sandbox destroyed/);
  });
});
