// The Duplex over the native binding, exercised on AF_UNIX socketpairs made by the
// same addon: the read/write/poll path is identical for vsock fds, and this runs on
// every host, with or without vsock.
import { createHash, randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { once } from 'node:events';
import { beforeAll, describe, expect, it } from 'vitest';
import { FdStream } from '../../../src/agent/transport/fd-stream.js';
import { loadVsockBinding, READABLE, WRITABLE, type VsockBinding } from '../../../src/agent/transport/native-vsock.js';
import { Poll } from '../../../src/agent/transport/poll.js';
import { eventLoopTurns, waitUntil } from '../../support/wait.js';
import { buildVsockAddon, openFds, readAll, readBytes } from './fixtures.js';

let binding: VsockBinding;

beforeAll(() => {
  buildVsockAddon();
  binding = loadVsockBinding();
});

/** A Poll that remembers what its stream last asked to wait for (READABLE | WRITABLE). */
class WatchedPoll extends Poll {
  wanted = 0;
  override want(events: number): void {
    this.wanted = events;
    super.want(events);
  }
}

function pair(opts: { allowHalfOpen?: boolean } = {}): [FdStream, FdStream, number[], WatchedPoll[]] {
  const fds = binding.socketpair();
  const polls = fds.map((fd) => new WatchedPoll(binding, fd));
  const [a, b] = polls.map((poll, i) => new FdStream(binding, poll, { ...opts, description: `pair ${i}` }));
  return [a!, b!, fds, polls];
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const isClosedFd = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBADF';
  }
};

describe('FdStream over a native socketpair', () => {
  it('carries bytes both ways', async () => {
    const [a, b] = pair();
    a.write('ping');
    expect((await readBytes(b, 4)).toString()).toBe('ping');
    b.write('pong');
    expect((await readBytes(a, 4)).toString()).toBe('pong');
    a.destroy();
    b.destroy();
    await Promise.all([once(a, 'close'), once(b, 'close')]);
  });

  it('applies backpressure: a paused reader stops draining the socket, nothing is lost', async () => {
    const [a, b, , [pollA, pollB]] = pair();
    const payload = randomBytes(8 * 1024 * 1024);
    const closed = Promise.all([once(a, 'close'), once(b, 'close')]);
    const written = new Promise<void>((resolve) => a.end(payload, () => resolve()));
    b.pause();
    b.read(0); // start the stream reading until its high-water mark
    // Both sides at rest: the reader filled its buffer and stopped polling the socket, the
    // writer waits for writability. Nothing moves from here until someone reads.
    await waitUntil(
      () => b.readableLength >= b.readableHighWaterMark && (pollB!.wanted & READABLE) === 0 && (pollA!.wanted & WRITABLE) !== 0,
      { what: 'the reader to stop at its high-water mark and the writer to wait for writability' },
    );
    // The reader buffers at most about one high-water mark plus one chunk, not 8 MiB.
    expect(b.readableLength).toBeLessThanOrEqual(b.readableHighWaterMark + 64 * 1024);
    // ...and the writer waits for writability instead of spinning or dropping data.
    expect(a.writableLength).toBeGreaterThan(0);
    expect(a.writableFinished).toBe(false);
    const [received] = await Promise.all([readAll(b), written]);
    expect(received.length).toBe(payload.length);
    expect(sha(received)).toBe(sha(payload));
    a.resume(); // a reads b's EOF; with both sides done, both auto-destroy
    await closed;
  });

  it('end() half-closes: the peer reads EOF and can still answer', async () => {
    const [a, b] = pair({ allowHalfOpen: true });
    a.end('request');
    expect((await readAll(b)).toString()).toBe('request');
    b.end('reply');
    expect((await readAll(a)).toString()).toBe('reply');
    await Promise.all([once(a, 'close'), once(b, 'close')]);
  });

  it('destroy() emits close exactly once, after the fd is closed; the peer sees EOF', async () => {
    const before = openFds();
    const [a, b, fds] = pair();
    let closes = 0;
    let fdClosedAtCloseEvent = false;
    a.on('close', () => {
      closes++;
      fdClosedAtCloseEvent = isClosedFd(fds[0]!);
    });
    a.destroy();
    a.destroy();
    const peerData = readAll(b);
    await once(a, 'close');
    expect((await peerData).length).toBe(0);
    // b's close comes after a's fd was closed and b read the EOF; a few more turns let
    // anything else already queued (a second 'close' of a) run before counting.
    await once(b, 'close');
    await eventLoopTurns(3);
    expect(closes).toBe(1);
    expect(fdClosedAtCloseEvent).toBe(true);
    expect(openFds()).toBe(before);
  });

  it('reports a write to a vanished peer as an EPIPE/ECONNRESET error, then closes', async () => {
    const [a, b] = pair();
    b.destroy();
    await once(b, 'close');
    const err = new Promise<NodeJS.ErrnoException>((resolve) => a.once('error', resolve));
    const closed = new Promise((resolve) => a.once('close', resolve)); // events.once would reject on 'error'
    a.write(Buffer.alloc(1024));
    const e = await err;
    expect(['EPIPE', 'ECONNRESET']).toContain(e.code);
    expect(e.message).toMatch(/^vsock: write failed/);
    await closed;
  });

  it('fails the in-flight write callback when destroyed mid-write', async () => {
    const [a, b, , [pollA]] = pair();
    b.pause();
    const result = new Promise<Error | null | undefined>((resolve) => a.write(randomBytes(16 * 1024 * 1024), resolve));
    // In flight: the socket took what it could and the rest waits for writability.
    await waitUntil(() => (pollA!.wanted & WRITABLE) !== 0, { what: 'the write to wait for writability' });
    a.destroy();
    const err = await result;
    expect(err).toBeInstanceOf(Error);
    b.destroy();
    await once(a, 'close');
  });
});
