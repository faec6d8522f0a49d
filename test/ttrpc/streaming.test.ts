import { FrameReader } from '../../src/ttrpc/frame.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Flags, MessageType, connectUnix, serviceClient, type TtrpcClient } from '../../src/ttrpc/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { Echo, RawPeer, requestPayload, sleep, useServer } from './helpers.js';

const fx = useServer();
let client: TtrpcClient;

beforeEach(async () => {
  client = await connectUnix(fx.path);
});

afterEach(() => client.close());

async function texts(stream: AsyncIterable<{ text: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const m of stream) out.push(m.text);
  return out;
}

describe('streaming calls', () => {
  it('server-stream: receives every message then a clean end', async () => {
    const echo = serviceClient(client, Echo);
    expect(await texts(echo.ServerStream({ text: '5' }))).toEqual(['msg-0', 'msg-1', 'msg-2', 'msg-3', 'msg-4']);
    const s = echo.ServerStream({ text: '1' });
    expect((await s.recv())?.text).toBe('msg-0');
    expect(await s.recv()).toBeUndefined();
  });

  it('server-stream: a handler error arrives as the status after the data', async () => {
    const s = serviceClient(client, Echo).ServerStream({ text: '2', failCode: Code.ABORTED });
    expect((await s.recv())?.text).toBe('msg-0');
    expect((await s.recv())?.text).toBe('msg-1');
    await expect(s.recv()).rejects.toMatchObject({ code: Code.ABORTED, message: 'stream failed' });
  });

  it('server-stream: many messages keep their order under backpressure', async () => {
    const got = await texts(serviceClient(client, Echo).ServerStream({ text: '5000' }));
    expect(got).toHaveLength(5000);
    expect(got[4999]).toBe('msg-4999');
  });

  it('client-stream: sends messages, half-closes, gets one response', async () => {
    const s = serviceClient(client, Echo).ClientStream();
    for (const t of ['a', 'b', 'c']) await s.send({ text: t });
    expect((await s.closeAndRecv()).text).toBe('a,b,c');
    const empty = serviceClient(client, Echo).ClientStream();
    expect((await empty.closeAndRecv()).text).toBe('');
  });

  it('client-stream: a handler error rejects closeAndRecv and later sends', async () => {
    const s = serviceClient(client, Echo).ClientStream();
    await s.send({ text: 'a' });
    await s.send({ failCode: Code.FAILED_PRECONDITION });
    const err = await s.closeAndRecv().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.FAILED_PRECONDITION);
    await expect(s.send({ text: 'late' })).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
  });

  it('client-stream: more messages than the server buffers (64) while the handler reads slowly', async () => {
    const p2 = await fx.serve('slow', {
      async ClientStream(stream) {
        let n = 0;
        for await (const _ of stream) if (++n % 50 === 0) await sleep(5);
        return { text: String(n) };
      },
    });
    const c2 = await connectUnix(p2);
    const s = serviceClient(c2, Echo).ClientStream();
    for (let i = 0; i < 1000; i++) void s.send({ text: `m${i}` });
    expect((await s.closeAndRecv()).text).toBe('1000');
    await c2.close();
  });

  it('client-stream: a handler that stops reading gets "stream buffer full" after 1 s', async () => {
    const p2 = await fx.serve('stuck', {
      ClientStream: (_stream, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });
    const c2 = await connectUnix(p2);
    const s = serviceClient(c2, Echo).ClientStream();
    for (let i = 0; i < 200; i++) void s.send({ text: `m${i}` }).catch(() => undefined);
    const started = Date.now();
    await expect(s.closeAndRecv()).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: 'data handling error: ttrpc: stream buffer full',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // The connection was only paused, not lost.
    expect(c2.isClosed).toBe(false);
    await c2.close();
  });

  it('bidi: interleaves sends and receives', async () => {
    const s = serviceClient(client, Echo).BidiStream();
    await s.send({ text: 'one' });
    expect((await s.recv())?.text).toBe('ONE');
    await s.send({ text: 'two' });
    await s.send({ text: 'three' });
    expect((await s.recv())?.text).toBe('TWO');
    expect((await s.recv())?.text).toBe('THREE');
    await s.closeSend();
    expect(await s.recv()).toBeUndefined();
  });

  it('bidi: many concurrent streams on one connection', async () => {
    const echo = serviceClient(client, Echo);
    const runs = Array.from({ length: 50 }, async (_, i) => {
      const s = echo.BidiStream();
      const words = Array.from({ length: 20 }, (_, j) => `s${i}w${j}`);
      for (const w of words) await s.send({ text: w });
      await s.closeSend();
      expect(await texts(s)).toEqual(words.map((w) => w.toUpperCase()));
    });
    await Promise.all(runs);
  });

  it('cancel() and timeouts end a stream locally', async () => {
    const echo = serviceClient(client, Echo);
    const s = echo.BidiStream();
    s.cancel();
    await expect(s.recv()).rejects.toMatchObject({ code: Code.CANCELLED });
    const t = echo.ServerStream({ text: '1', delayMs: 5000 }, { timeoutMs: 50 });
    expect((await t.recv())?.text).toBe('msg-0');
    await expect(t.recv()).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
  });

  it('a dropped connection fails open streams with UNAVAILABLE', async () => {
    const s = serviceClient(client, Echo).BidiStream();
    await s.send({ text: 'x' });
    expect((await s.recv())?.text).toBe('X');
    await fx.server.close(0);
    await expect(s.recv()).rejects.toMatchObject({ code: Code.UNAVAILABLE });
  });

  it('the client opens streams with the flags of protocol-reference 1.4', async () => {
    const seen: number[][] = [];
    const p2 = await fx.listenRaw('spy', (sock) => {
      const reader = new FrameReader({ frame: (f) => seen.push([f.streamId, f.type, f.flags, f.payload.length]), oversized: () => undefined });
      sock.on('data', (b: Buffer) => reader.push(b));
    });
    const c2 = await connectUnix(p2);
    const echo = serviceClient(c2, Echo);
    echo.ServerStream({ text: 'x' });
    const cs = echo.ClientStream();
    await cs.send({ text: 'a' });
    await cs.closeSend();
    while (seen.length < 4) await sleep(5);
    expect(seen.map((x) => x.slice(0, 3))).toEqual([
      [1, MessageType.Request, Flags.REMOTE_CLOSED],
      [3, MessageType.Request, Flags.REMOTE_OPEN],
      [3, MessageType.Data, 0],
      [3, MessageType.Data, Flags.REMOTE_CLOSED | Flags.NO_DATA],
    ]);
    expect(seen[3]![3]).toBe(0);
    await c2.close();
  });

  it('uses the wire flags of protocol-reference 1.4', async () => {
    const peer = await RawPeer.connect(fx.path);
    peer.send(1, MessageType.Request, Flags.REMOTE_CLOSED, requestPayload({
      service: Echo.name,
      method: 'ServerStream',
      payload: Echo.methods.ServerStream.requestType.encode({ text: '2' }).finish(),
    }));
    const frames = await peer.waitFrames(3);
    expect(frames.map((f) => [f.streamId, f.type, f.flags])).toEqual([
      [1, MessageType.Data, 0],
      [1, MessageType.Data, 0],
      [1, MessageType.Data, Flags.REMOTE_CLOSED | Flags.NO_DATA],
    ]);
    expect(frames[2]!.payload.length).toBe(0);
    peer.destroy();
  });
});
