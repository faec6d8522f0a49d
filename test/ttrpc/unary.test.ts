import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TtrpcClient, connectUnix, serviceClient } from '../../src/ttrpc/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { FrameReader, MAX_MESSAGE, MessageType, writeHeader } from '../../src/ttrpc/frame.js';
import { requestFrame, responseFrame } from '../../src/ttrpc/envelope.js';
import { Echo, sleep, useServer } from './helpers.js';

const fx = useServer();

async function rejection(p: Promise<unknown>): Promise<RuntimeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RuntimeError);
  return err as RuntimeError;
}

describe('unary calls', () => {
  it('round-trips request, response and metadata', async () => {
    const client = await connectUnix(fx.path);
    const echo = serviceClient(client, Echo);
    const res = await echo.Unary(
      { text: 'héllo', blob: new Uint8Array([0, 1, 255]) },
      { metadata: { 'Containerd-Namespace-Ttrpc': 'k8s.io', multi: ['a', 'b'] } },
    );
    expect(res.text).toBe('héllo');
    expect([...res.blob]).toEqual([0, 1, 255]);
    expect(res.metadata).toEqual(['containerd-namespace-ttrpc=k8s.io', 'multi=a', 'multi=b']);
    await client.close();
  });

  it('serves many concurrent calls on one connection, out of order', async () => {
    const client = await connectUnix(fx.path);
    const echo = serviceClient(client, Echo);
    const calls = Array.from({ length: 500 }, (_, i) => echo.Unary({ text: `n${i}`, delayMs: (i * 7) % 13 }));
    const results = await Promise.all(calls);
    expect(results.map((r) => r.text)).toEqual(Array.from({ length: 500 }, (_, i) => `n${i}`));
    await client.close();
  });

  it('maps handler errors to their status code and message', async () => {
    const client = await connectUnix(fx.path);
    const err = await rejection(client.call(Echo, 'Unary', { failCode: Code.NOT_FOUND }));
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toBe('failing with 5');
    await client.close();
  });

  it('answers UNIMPLEMENTED for an unknown service and an unknown method', async () => {
    const client = await connectUnix(fx.path);
    const fakeService = { ...Echo, name: 'no.such.Service' } as const;
    const e1 = await rejection(client.call(fakeService, 'Unary', {}));
    expect([e1.code, e1.message]).toEqual([Code.UNIMPLEMENTED, 'service no.such.Service']);
    const fakeMethod = { name: Echo.name, methods: { Nope: Echo.methods.Unary } } as const;
    const e2 = await rejection(client.call(fakeMethod, 'Nope', {}));
    expect([e2.code, e2.message]).toEqual([Code.UNIMPLEMENTED, 'method Nope']);
    await client.close();
  });

  it('methods registered without a handler answer UNIMPLEMENTED', async () => {
    const p2 = await fx.serve('partial', { Unary: async () => ({ text: 'x' }) });
    const client = await connectUnix(p2);
    const stream = serviceClient(client, Echo).ClientStream();
    const err = await rejection(stream.closeAndRecv());
    expect([err.code, err.message]).toEqual([Code.UNIMPLEMENTED, 'method ClientStream']);
    await client.close();
  });

  it('enforces timeoutMs locally (DEADLINE_EXCEEDED) and the server aborts the handler', async () => {
    const client = await connectUnix(fx.path);
    const started = Date.now();
    const err = await rejection(client.call(Echo, 'Unary', { delayMs: 10_000 }, { timeoutMs: 50 }));
    expect(err.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
    await sleep(100);
    expect(fx.seen.signals).toHaveLength(1);
    expect(fx.seen.signals[0]!.aborted).toBe(true);
    expect((fx.seen.signals[0]!.reason as RuntimeError).code).toBe(Code.DEADLINE_EXCEEDED);
    // The connection is still usable.
    expect((await client.call(Echo, 'Unary', { text: 'after' })).text).toBe('after');
    await client.close();
  });

  it('cancels a call through its AbortSignal (CANCELLED) without affecting others', async () => {
    const client = await connectUnix(fx.path);
    const ac = new AbortController();
    const slow = client.call(Echo, 'Unary', { delayMs: 5000 }, { signal: ac.signal });
    const other = client.call(Echo, 'Unary', { text: 'other', delayMs: 20 });
    ac.abort();
    expect((await rejection(slow)).code).toBe(Code.CANCELLED);
    expect((await other).text).toBe('other');
    expect((await rejection(client.call(Echo, 'Unary', {}, { signal: ac.signal }))).code).toBe(Code.CANCELLED);
    await client.close();
  });

  it('fails every pending call with UNAVAILABLE when the server drops the connection', async () => {
    // Reads the requests, then drops the connection.
    const p2 = await fx.listenRaw('drop', (s) => s.on('data', () => s.destroy()));
    const client = await connectUnix(p2);
    const pending = [1, 2, 3].map(() => client.call(Echo, 'Unary', { text: 'x' }));
    for (const p of pending) expect((await rejection(p)).code).toBe(Code.UNAVAILABLE);
    expect((await client.closed).code).toBe(Code.UNAVAILABLE);
    expect((await rejection(client.call(Echo, 'Unary', {}))).code).toBe(Code.UNAVAILABLE);
  });

  it('aborts in-flight handler signals when the client goes away', async () => {
    const client = await connectUnix(fx.path);
    const call = client.call(Echo, 'Unary', { delayMs: 10_000 });
    while (fx.seen.signals.length === 0) await sleep(5);
    await client.close();
    expect((await rejection(call)).code).toBe(Code.UNAVAILABLE);
    await sleep(50);
    expect(fx.seen.signals[0]!.aborted).toBe(true);
  });

  it('accepts a request frame of exactly 4 MiB and refuses a larger one locally', async () => {
    const client = await connectUnix(fx.path);
    const blob = new Uint8Array(MAX_MESSAGE - 64).fill(7);
    const req = { text: '', blob };
    // Grow the blob until the whole frame payload is exactly MAX_MESSAGE.
    const size = (b: Uint8Array): number =>
      requestFrame(1, 0, { service: Echo.name, method: 'Unary', timeoutNano: 0, metadata: [] }, Echo.methods.Unary.requestType, {
        blob: b,
      }).length - 10;
    let n = blob.length;
    while (size(new Uint8Array(n)) < MAX_MESSAGE) n++;
    expect(size(new Uint8Array(n))).toBe(MAX_MESSAGE);
    req.blob = new Uint8Array(n).fill(7);
    const res = await client.call(Echo, 'Unary', req);
    expect(res.blob.length).toBe(n);
    const err = await rejection(client.call(Echo, 'Unary', { blob: new Uint8Array(n + 1) }));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(err.message).toBe(`message length ${MAX_MESSAGE + 1} exceed maximum message size of ${MAX_MESSAGE}`);
    expect((await client.call(Echo, 'Unary', { text: 'still ok' })).text).toBe('still ok');
    await client.close();
  });

  it('answers RESOURCE_EXHAUSTED when a handler response is too large', async () => {
    const p2 = await fx.serve('big', { Unary: async () => ({ blob: new Uint8Array(MAX_MESSAGE + 1) }) });
    const client = await connectUnix(p2);
    expect((await rejection(client.call(Echo, 'Unary', {}))).code).toBe(Code.RESOURCE_EXHAUSTED);
    await client.close();
  });

  it('fails only the affected call when the server sends an oversized frame', async () => {
    const p2 = await fx.listenRaw('liar', (sock) => {
      const reader = new FrameReader({
        frame: (f) => {
          if (f.streamId === 1) {
            const head = Buffer.alloc(10);
            writeHeader(head, 0, { length: MAX_MESSAGE + 1, streamId: 1, type: MessageType.Response, flags: 0 });
            sock.write(Buffer.concat([head, Buffer.alloc(MAX_MESSAGE + 1)]));
          } else {
            sock.write(responseFrame(f.streamId, undefined, Echo.methods.Unary.responseType, { text: 'ok' }));
          }
        },
        oversized: () => undefined,
      });
      sock.on('data', (b: Buffer) => reader.push(b));
    });
    const client = await connectUnix(p2);
    const err = await rejection(client.call(Echo, 'Unary', {}));
    expect(err.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect((await client.call(Echo, 'Unary', {})).text).toBe('ok');
    await client.close();
  });

  it('uses odd, increasing stream ids from 1', async () => {
    const ids: number[] = [];
    const p2 = await fx.listenRaw('spy', (s) =>
      s.on('data', (b: Buffer) => {
        for (let off = 0; off + 10 <= b.length; off += 10 + b.readUInt32BE(off)) ids.push(b.readUInt32BE(off + 4));
      }),
    );
    const client = await connectUnix(p2);
    for (let i = 0; i < 3; i++) void client.call(Echo, 'Unary', {}).catch(() => undefined);
    while (ids.length < 3) await sleep(5);
    expect(ids).toEqual([1, 3, 5]);
    await client.close();
  });

  it('close() waits for in-flight calls, refuses new connections, then stops', async () => {
    const client = await connectUnix(fx.path);
    const slow = client.call(Echo, 'Unary', { text: 'slow', delayMs: 200 });
    await sleep(20);
    const closing = fx.server.close(5000);
    await sleep(20);
    await expect(connectUnix(fx.path, { connectTimeoutMs: 500 })).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect((await slow).text).toBe('slow');
    await closing;
    expect((await client.closed).code).toBe(Code.UNAVAILABLE);
    expect(fx.server.connectionCount).toBe(0);
  });

  it('close() destroys busy connections after its bound and aborts their handlers', async () => {
    const client = await connectUnix(fx.path);
    const stuck = client.call(Echo, 'Unary', { delayMs: 60_000 });
    while (fx.seen.signals.length === 0) await sleep(5);
    const started = Date.now();
    await fx.server.close(100);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await rejection(stuck)).code).toBe(Code.UNAVAILABLE);
    expect(fx.seen.signals[0]!.aborted).toBe(true);
  });

  it('works over any Duplex, not only sockets', async () => {
    const [a, b] = duplexPair();
    fx.server.handleConnection(a);
    const client = new TtrpcClient(b);
    expect((await client.call(Echo, 'Unary', { text: 'pair' })).text).toBe('pair');
    await client.close();
  });
});

/** Two in-memory Duplex ends wired to each other. */
function duplexPair(): [Duplex, Duplex] {
  const mk = (): Duplex & { peer?: Duplex } => {
    const d: Duplex & { peer?: Duplex } = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        d.peer!.push(chunk);
        cb();
      },
      final(cb) {
        d.peer!.push(null);
        cb();
      },
      destroy(err, cb) {
        d.peer?.destroy();
        cb(err);
      },
    });
    return d;
  };
  const a = mk();
  const b = mk();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
