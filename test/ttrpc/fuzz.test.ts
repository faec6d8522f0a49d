// Throws >= 10,000 random and mutated frames at a server over real sockets. The server must
// never crash (vitest fails the run on any unhandled error), answer every well-framed frame on
// its stream id, close connections whose framing is garbage once the peer stops, and then
// still serve a fresh client.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ttrpc } from '../../src/gen/proto.js';
import { FrameReader, encodeFrame, writeHeader, type Frame } from '../../src/ttrpc/frame.js';
import { Flags, MAX_MESSAGE, MessageType, connectUnix, serviceClient } from '../../src/ttrpc/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { Echo, requestPayload, sleep, useServer } from './helpers.js';

const SEED = Number(process.env.TTRPC_FUZZ_SEED ?? 0x5eed);

/** mulberry32: small, seedable, good enough to vary inputs reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));

const METHODS = ['Unary', 'ServerStream', 'ClientStream', 'BidiStream', 'Nope', ''] as const;

function echoRequest(): Uint8Array {
  return Echo.methods.Unary.requestType
    .encode({ text: 'x'.repeat(int(20)), blob: randomBytes(int(40)), failCode: rand() < 0.2 ? int(17) : 0 })
    .finish();
}

function validRequest(): Uint8Array {
  return requestPayload({
    service: rand() < 0.9 ? Echo.name : 'bogus.Service',
    method: pick(METHODS),
    payload: echoRequest(),
    timeoutNano: rand() < 0.1 ? int(3) * 1e6 - 1e6 : 0,
    metadata: rand() < 0.3 ? [{ key: 'K', value: 'v' }] : [],
  });
}

function flipBits(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  for (let i = 1 + int(3); i > 0 && out.length > 0; i--) out[int(out.length)]! ^= 1 << int(8);
  return out;
}

interface Sent {
  id: number;
  bytes: Uint8Array;
}

/** A frame whose length header is honest; everything else may be wrong. */
function honestFrame(nextId: () => number): Sent {
  const r = rand();
  let id = rand() < 0.85 ? nextId() : int(2 ** 32);
  let type: number = MessageType.Request;
  let flags = 0;
  let payload: Uint8Array;
  if (r < 0.35) payload = validRequest();
  else if (r < 0.55) payload = flipBits(validRequest());
  else if (r < 0.65) payload = randomBytes(int(64));
  else if (r < 0.72) payload = validRequest().subarray(0, int(30));
  else if (r < 0.85) {
    type = MessageType.Data;
    flags = pick([0, Flags.NO_DATA, Flags.REMOTE_CLOSED, Flags.REMOTE_CLOSED | Flags.NO_DATA]);
    payload = rand() < 0.5 ? echoRequest() : new Uint8Array();
    if (rand() < 0.7) id = Math.max(1, id - 2 * int(3));
  } else {
    type = int(256);
    flags = int(256);
    payload = rand() < 0.5 ? validRequest() : randomBytes(int(32));
  }
  if (rand() < 0.1) flags = int(256);
  return { id, bytes: encodeFrame(id, type, flags, payload) };
}

/** Bytes with no trustworthy framing: noise, lying lengths, truncation. */
function garbage(): Uint8Array {
  const r = rand();
  if (r < 0.4) return randomBytes(1 + int(200));
  const f = encodeFrame(1 + 2 * int(1000), MessageType.Request, 0, validRequest());
  if (r < 0.7) {
    writeHeader(f, 0, { length: int(2 ** 32), streamId: 1 + 2 * int(1000), type: int(4), flags: int(8) });
    return f;
  }
  return f.subarray(0, int(f.length));
}

/** A raw connection that records what comes back and checks it is well-formed. */
class FuzzPeer {
  readonly terminal = new Map<number, number>();
  readonly received: Frame[] = [];
  readonly closed: Promise<void>;
  malformed: string[] = [];

  constructor(readonly socket: net.Socket) {
    const reader = new FrameReader({
      frame: (f) => this.onFrame(f),
      oversized: (h) => this.malformed.push(`oversized frame from server on ${h.streamId}`),
    });
    socket.on('data', (c: Buffer) => reader.push(c));
    socket.on('error', () => undefined);
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  private onFrame(f: Frame): void {
    if (f.type === MessageType.Response) {
      try {
        ttrpc.Response.decode(f.payload);
      } catch {
        this.malformed.push(`undecodable response on ${f.streamId}`);
      }
      this.terminal.set(f.streamId, (this.terminal.get(f.streamId) ?? 0) + 1);
    } else if (f.type === MessageType.Data) {
      if (f.flags & Flags.REMOTE_CLOSED) this.terminal.set(f.streamId, (this.terminal.get(f.streamId) ?? 0) + 1);
    } else {
      this.malformed.push(`server sent type ${f.type}`);
    }
  }

  static connect(path: string): Promise<FuzzPeer> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ path });
      s.once('error', reject);
      s.once('connect', () => resolve(new FuzzPeer(s)));
    });
  }
}

// Handlers answer at once, so every stream a frame opens also ends.
const fx = useServer({
  once: true,
  handlers: () => ({
    Unary: async (req) => {
      if (req.failCode) throw new RuntimeError(req.failCode as Code, 'fail');
      return { text: req.text, blob: req.blob };
    },
    ServerStream: async (req, stream) => {
      await stream.send({ text: req.text });
      await stream.send({ text: req.text });
    },
    ClientStream: async () => ({ text: 'cs' }),
    BidiStream: async (stream) => stream.send({ text: 'bidi' }),
  }),
});

describe('fuzzing the server', () => {
  it(`survives >= 10,000 random and mutated frames (seed ${SEED})`, async () => {
    let framesSent = 0;
    let oversizedSent = 0;

    for (let conn = 0; conn < 200; conn++) {
      const peer = await FuzzPeer.connect(fx.path);
      const sentIds = new Set<number>();
      let id = -1;
      const nextId = (): number => (id += 2 * (1 + int(2)));
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 100; i++) {
        const f = honestFrame(nextId);
        sentIds.add(f.id);
        parts.push(f.bytes);
      }
      if (conn % 50 === 0) {
        const big = nextId();
        sentIds.add(big);
        parts.push(encodeFrame(big, MessageType.Request, 0, new Uint8Array(MAX_MESSAGE + 1 + int(1000))));
        oversizedSent++;
      }
      const sentinel = 0xffffffff;
      sentIds.add(sentinel);
      parts.push(encodeFrame(sentinel, MessageType.Request, 0, requestPayload({ service: Echo.name, method: 'Unary' })));
      framesSent += parts.length;
      // Arbitrary write boundaries, unrelated to frame boundaries.
      const all = Buffer.concat(parts);
      for (let off = 0; off < all.length; ) {
        const n = 1 + int(4096);
        peer.socket.write(all.subarray(off, off + n));
        off += n;
      }
      const deadline = Date.now() + 5000;
      const missing = (): number[] => [...sentIds].filter((x) => !peer.terminal.has(x));
      while (missing().length > 0 && Date.now() < deadline) await sleep(2);
      expect(missing(), `connection ${conn}: stream ids never answered`).toEqual([]);
      expect(peer.malformed).toEqual([]);
      expect(peer.socket.destroyed, 'well-framed input must not close the connection').toBe(false);
      peer.socket.destroy();
    }

    // Garbage framing: the server may wait for bytes that never come; once we stop, it must let go.
    for (let conn = 0; conn < 60; conn++) {
      const peer = await FuzzPeer.connect(fx.path);
      for (let i = 0; i < 10; i++) peer.socket.write(garbage());
      framesSent += 10;
      if (conn % 2 === 0) peer.socket.end();
      else {
        await sleep(1);
        peer.socket.destroy();
      }
      await peer.closed;
      expect(peer.malformed).toEqual([]);
    }

    expect(framesSent).toBeGreaterThanOrEqual(10_000);
    expect(oversizedSent).toBeGreaterThan(0);
    for (let i = 0; i < 100 && fx.server.connectionCount > 0; i++) await sleep(10);
    expect(fx.server.connectionCount).toBe(0);

    const client = await connectUnix(fx.path);
    const echo = serviceClient(client, Echo);
    expect((await echo.Unary({ text: 'fresh' })).text).toBe('fresh');
    const texts: string[] = [];
    for await (const m of echo.ServerStream({ text: 's' })) texts.push(m.text);
    expect(texts).toEqual(['s', 's']);
    await client.close();
  }, 30_000);
});
