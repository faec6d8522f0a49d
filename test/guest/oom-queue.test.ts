import { describe, expect, it } from 'vitest';
import { OomQueue } from '../../src/guest/oom-queue.js';
import { Code, RuntimeError } from '../../src/errors/index.js';

/** Whether `p` has settled once pending callbacks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

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

  it('serves concurrent polls oldest first, each event to exactly one of them', async () => {
    const q = new OomQueue();
    const [p1, p2, p3] = [q.next(), q.next(), q.next()];
    q.push('a');
    q.push('b');
    expect([await p1, await p2]).toEqual(['a', 'b']);
    expect(await settled(p3)).toBe(false);
    q.push('c');
    expect(await p3).toBe('c');
    expect(q.size).toBe(0);
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

  it('is bounded: when full, the oldest event is dropped and reported', async () => {
    const dropped: string[] = [];
    const q = new OomQueue({ capacity: 2, onDrop: (id) => dropped.push(id) });
    for (const id of ['a', 'b', 'c']) q.push(id);
    expect(dropped).toEqual(['a']);
    expect([await q.next(), await q.next()]).toEqual(['b', 'c']);
  });

  it('drops an aborted poller without losing the next event', async () => {
    const q = new OomQueue();
    const ac = new AbortController();
    const gone = q.next(ac.signal);
    const other = q.next();
    ac.abort(new Error('client left'));
    await expect(gone).rejects.toThrow('client left');
    q.push('a');
    expect(await other).toBe('a');
  });

  it('gives an already aborted poll nothing, even when an event is queued', async () => {
    const q = new OomQueue();
    q.push('a');
    await expect(q.next(AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(q.size).toBe(1);
    expect(await q.next()).toBe('a');
  });

  it('passes an event pushed while a poll is being aborted to the next poll, or keeps it', async () => {
    const q = new OomQueue();
    // A listener registered before the queue's runs first: the signal is aborted, the
    // queue's own listener has not removed the poll yet.
    const ac = new AbortController();
    ac.signal.addEventListener('abort', () => q.push('a'));
    const gone = q.next(ac.signal);
    const next = q.next();
    ac.abort(new Error('client left'));
    await expect(gone).rejects.toThrow('client left');
    expect(await next).toBe('a');

    const ac2 = new AbortController();
    ac2.signal.addEventListener('abort', () => q.push('b'));
    const gone2 = q.next(ac2.signal);
    ac2.abort(new Error('client left'));
    await expect(gone2).rejects.toThrow('client left');
    expect(q.size).toBe(1);
    expect(await q.next()).toBe('b');
  });

  it('fails every poller with UNAVAILABLE when closed, and drops what was queued', async () => {
    const q = new OomQueue();
    const waiting = [q.next(), q.next()];
    q.close();
    for (const w of waiting) {
      const err = await w.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).code).toBe(Code.UNAVAILABLE);
    }
    q.push('a');
    expect(q.size).toBe(0);
    await expect(q.next()).rejects.toThrow(/sandbox destroyed/);
  });
});
