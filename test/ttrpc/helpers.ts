// Shared fixtures for the ttrpc tests: a temp socket dir, the Echo service, and a raw
// frame-level peer for sending what a well-behaved client never would.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ttrpc } from '../../src/gen/proto.js';
import { ttrpc_testing_Echo as Echo } from '../../src/gen/services.js';
import { FrameReader, MessageType, encodeFrame, type Frame } from '../../src/ttrpc/frame.js';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { TtrpcServer, type Handlers } from '../../src/ttrpc/index.js';
import { RuntimeError, type Code } from '../../src/errors/index.js';

export { Echo };

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ttrpc-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}

/** Echo: Unary echoes text, blob and "key=value" metadata; failCode makes any method fail. */
export function echoHandlers(seen?: { signals: AbortSignal[] }): Handlers<typeof Echo> {
  return {
    async Unary(req, ctx) {
      seen?.signals.push(ctx.signal);
      if (req.delayMs) await sleep(req.delayMs, ctx.signal);
      if (req.failCode) throw new RuntimeError(req.failCode as Code, `failing with ${req.failCode}`);
      const metadata = [...ctx.metadata].flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`));
      return { text: req.text, blob: req.blob, metadata };
    },
    async ServerStream(req, stream, ctx) {
      const n = Number(req.text) || 3;
      for (let i = 0; i < n; i++) await stream.send({ text: `msg-${i}` });
      if (req.delayMs) await sleep(req.delayMs, ctx.signal);
      if (req.failCode) throw new RuntimeError(req.failCode as Code, 'stream failed');
    },
    async ClientStream(stream) {
      const texts: string[] = [];
      for await (const m of stream) {
        if (m.failCode) throw new RuntimeError(m.failCode as Code, 'client stream failed');
        texts.push(m.text);
      }
      return { text: texts.join(',') };
    },
    async BidiStream(stream) {
      for await (const m of stream) await stream.send({ text: m.text.toUpperCase() });
    },
  };
}

type EchoHandlers = Partial<Handlers<typeof Echo>>;

export interface ServerFixture {
  dir: string;
  /** The main server's socket. */
  path: string;
  server: TtrpcServer;
  /** Signals of the Unary calls the main server has seen. */
  seen: { signals: AbortSignal[] };
  /** Another Echo server with `handlers` on `<name>.sock`, stopped after the test. */
  serve(name: string, handlers: EchoHandlers): Promise<string>;
  /** A plain net.Server (spy, misbehaving peer) on `<name>.sock`, closed after the test. */
  listenRaw(name: string, onConnection: (socket: net.Socket) => void): Promise<string>;
}

/** A temp dir and an Echo server on a unix socket, fresh for each test (or once, for the file). */
export function useServer(opts: { once?: boolean; handlers?: (seen: ServerFixture['seen']) => EchoHandlers } = {}): ServerFixture {
  const cleanups: (() => Promise<void> | void)[] = [];
  const fx = {
    async serve(name: string, handlers: EchoHandlers): Promise<string> {
      const server = new TtrpcServer();
      server.register(Echo, handlers);
      const path = join(fx.dir, `${name}.sock`);
      await server.listen(path);
      cleanups.push(() => server.close(100));
      return path;
    },
    async listenRaw(name: string, onConnection: (socket: net.Socket) => void): Promise<string> {
      const sockets: net.Socket[] = [];
      const server = net.createServer((s) => {
        sockets.push(s);
        s.on('error', () => undefined);
        onConnection(s);
      });
      const path = join(fx.dir, `${name}.sock`);
      await new Promise<void>((resolve) => server.listen(path, resolve));
      cleanups.push(() => {
        for (const s of sockets) s.destroy();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      });
      return path;
    },
  } as ServerFixture;
  (opts.once ? beforeAll : beforeEach)(async () => {
    const tmp = tempDir();
    fx.dir = tmp.dir;
    fx.path = join(tmp.dir, 'ttrpc.sock');
    fx.seen = { signals: [] };
    fx.server = new TtrpcServer({ shutdownTimeoutMs: 1000 });
    fx.server.register(Echo, (opts.handlers ?? echoHandlers)(fx.seen));
    await fx.server.listen(fx.path);
    cleanups.push(tmp.cleanup, () => fx.server.close(100));
  });
  (opts.once ? afterAll : afterEach)(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return fx;
}

export function requestPayload(props: ttrpc.Request.$Properties): Uint8Array {
  return ttrpc.Request.encode(props).finish();
}

export function unaryRequest(text: string, extra: Partial<ttrpc.Request.$Properties> = {}): Uint8Array {
  return requestPayload({
    service: Echo.name,
    method: 'Unary',
    payload: Echo.methods.Unary.requestType.encode({ text }).finish(),
    ...extra,
  });
}

/** A frame-level peer on a real socket: writes raw bytes, collects decoded frames. */
export class RawPeer {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    const reader = new FrameReader({
      frame: (f) => {
        this.frames.push({ ...f, payload: Uint8Array.from(f.payload) });
        for (const w of this.waiters.splice(0)) w();
      },
      oversized: () => {
        throw new Error('server sent an oversized frame');
      },
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ path });
      s.once('error', reject);
      s.once('connect', () => resolve(new RawPeer(s)));
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(streamId: number, type: number, flags: number, payload?: Uint8Array): void {
    this.write(encodeFrame(streamId, type, flags, payload));
  }

  /** Waits until `n` frames have arrived in total (or the socket closed). */
  async waitFrames(n: number, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n && !this.socket.destroyed) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} frames (have ${this.frames.length})`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(50)]);
    }
    return this.frames;
  }

  /** The next Response on `streamId`, decoded. */
  async response(streamId: number, timeoutMs = 5000): Promise<ttrpc.Response> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find((x) => x.streamId === streamId && x.type === MessageType.Response);
      if (f) return ttrpc.Response.decode(f.payload);
      if (this.socket.destroyed) throw new Error(`socket closed before a response on stream ${streamId}`);
      if (Date.now() > deadline) throw new Error(`no response on stream ${streamId}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(50)]);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
