// ttrpc client over any Duplex. Calls are multiplexed on odd stream ids (1, 3, 5, ...).
// The client never half-closes the transport: Go servers drop a connection on EOF
// without answering (protocol-reference §1.5), so close() destroys it instead.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { preflight, requestFields, type CallOptions } from './call-options.js';
import { Channel } from './channel.js';
import { UnaryCall, type CallHost, type ClientStreamState } from './client-call.js';
import { ClientStream } from './client-stream.js';
import { oversizedError, requestFrame } from './envelope.js';
import { Flags, type Frame, type FrameHeader } from './frame.js';
import type { MessageClass, MethodDef, RequestProps, ResponseOf, ServiceDef } from './service.js';
import { Code, RuntimeError, internal, invalidArgument } from '../errors/index.js';

export interface ClientOptions {
  log?: Logger;
}

type MethodOf<S extends ServiceDef, K extends keyof S['methods']> = S['methods'][K];

const LAST_STREAM_ID = 0xffffffff;

function encodeError(err: unknown): RuntimeError {
  return err instanceof RuntimeError ? err : internal(`ttrpc: error marshaling request: ${(err as Error).message}`, err);
}

function lookup(def: ServiceDef, name: string): MethodDef | RuntimeError {
  const m = Object.hasOwn(def.methods, name) ? def.methods[name] : undefined;
  return m ?? invalidArgument(`ttrpc: ${def.name} has no method ${name}`);
}

export class TtrpcClient {
  private readonly channel: Channel;
  private readonly streams = new Map<number, ClientStreamState>();
  private readonly host: CallHost;
  private nextId = 1;
  private closeError: RuntimeError | undefined;
  private resolveClosed!: (reason: RuntimeError) => void;
  /** Resolves with the reason (UNAVAILABLE) once the connection is gone, for whatever cause. */
  readonly closed = new Promise<RuntimeError>((resolve) => (this.resolveClosed = resolve));

  constructor(
    stream: Duplex,
    private readonly options: ClientOptions = {},
  ) {
    this.channel = new Channel(stream, {
      frame: (f) => this.onFrame(f),
      oversized: (h) => this.onOversized(h),
      closed: (err) => this.onClosed(err),
    });
    this.host = {
      send: (frame) => this.channel.send(frame),
      drained: () => this.channel.drained(),
      release: (id) => this.streams.delete(id),
    };
  }

  get isClosed(): boolean {
    return this.closeError !== undefined;
  }

  /** Runs `listener` once when the connection closes (at once if it already has). */
  onClose(listener: (reason: RuntimeError) => void): void {
    void this.closed.then(listener);
  }

  /** A unary call; rejects with RuntimeError (UNAVAILABLE when the connection drops). */
  call<S extends ServiceDef, K extends keyof S['methods'] & string>(
    def: S,
    method: K,
    request: RequestProps<MethodOf<S, K>>,
    opts: CallOptions = {},
  ): Promise<ResponseOf<MethodOf<S, K>>> {
    const m = lookup(def, method);
    if (m instanceof RuntimeError) return Promise.reject(m);
    if (m.requestStream || m.responseStream) {
      return Promise.reject(invalidArgument(`ttrpc: ${def.name}/${method} is a streaming method`));
    }
    const early = this.closeError ?? preflight(opts);
    if (early !== undefined) return Promise.reject(early);
    const id = this.allocateId();
    if (id === undefined) return Promise.reject(this.closeError);
    let frame: Uint8Array;
    try {
      frame = requestFrame(id, 0, requestFields(def.name, method, opts), m.requestType, request);
    } catch (err) {
      return Promise.reject(encodeError(err));
    }
    const type = m.responseType as MessageClass<ResponseOf<MethodOf<S, K>>>;
    return new Promise((resolve, reject) => {
      this.streams.set(id, new UnaryCall(this.host, id, type, resolve, reject, opts));
      this.channel.send(frame);
    });
  }

  /**
   * Opens a streaming call. `request` is the single request of a server-streaming
   * method; client-streaming and bidi methods send theirs with `send()`.
   */
  openStream<S extends ServiceDef, K extends keyof S['methods'] & string>(
    def: S,
    method: K,
    request: RequestProps<MethodOf<S, K>> | undefined,
    opts: CallOptions = {},
  ): ClientStream<RequestProps<MethodOf<S, K>>, ResponseOf<MethodOf<S, K>>> {
    const m = lookup(def, method);
    if (m instanceof RuntimeError) throw m;
    const id = this.allocateId() ?? 0;
    const stream = new ClientStream<RequestProps<MethodOf<S, K>>, ResponseOf<MethodOf<S, K>>>(this.host, id, m, opts);
    const early =
      this.closeError ??
      preflight(opts) ??
      (m.requestStream || m.responseStream ? undefined : invalidArgument(`ttrpc: ${def.name}/${method} is unary`));
    if (early !== undefined) {
      stream.fail(early);
      return stream;
    }
    let frame: Uint8Array;
    try {
      const flags = m.requestStream ? Flags.REMOTE_OPEN : Flags.REMOTE_CLOSED;
      const body = m.requestStream ? undefined : m.requestType;
      frame = requestFrame(id, flags, requestFields(def.name, method, opts), body, request ?? {});
    } catch (err) {
      stream.fail(encodeError(err));
      return stream;
    }
    this.streams.set(id, stream);
    this.channel.send(frame);
    return stream;
  }

  /** Destroys the connection; pending calls reject with UNAVAILABLE. */
  close(): Promise<void> {
    this.closeError ??= new RuntimeError(Code.UNAVAILABLE, 'ttrpc: client closed');
    this.channel.close();
    return this.closed.then(() => undefined);
  }

  private allocateId(): number | undefined {
    const id = this.nextId;
    if (id > LAST_STREAM_ID) {
      this.closeError ??= new RuntimeError(Code.UNAVAILABLE, 'ttrpc: stream ids exhausted');
      this.channel.close();
      return undefined;
    }
    this.nextId += 2;
    return id;
  }

  private onFrame(f: Frame): void {
    const stream = this.streams.get(f.streamId);
    if (stream !== undefined) stream.frame(f);
    else this.options.log?.debug({ streamId: f.streamId, type: f.type }, 'ttrpc: message on inactive stream');
  }

  private onOversized(h: FrameHeader): void {
    this.streams.get(h.streamId)?.fail(oversizedError(h.length));
  }

  private onClosed(err: Error | undefined): void {
    const reason =
      this.closeError ??
      new RuntimeError(Code.UNAVAILABLE, `ttrpc: connection closed${err ? `: ${err.message}` : ''}`, { cause: err });
    this.closeError = reason;
    const pending = [...this.streams.values()];
    this.streams.clear();
    for (const s of pending) s.fail(reason);
    this.resolveClosed(reason);
  }
}

export interface ConnectOptions extends ClientOptions {
  /** Gives up connecting after this long (UNAVAILABLE); default 10 s. */
  connectTimeoutMs?: number;
}

/** Connects to a unix socket and returns a client on it; failures reject with UNAVAILABLE. */
export function connectUnix(path: string, opts: ConnectOptions = {}): Promise<TtrpcClient> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new RuntimeError(Code.UNAVAILABLE, `ttrpc: connect ${path}: ${err.message}`, { cause: err }));
    };
    const timer = setTimeout(() => fail(new Error('timed out')), opts.connectTimeoutMs ?? 10_000);
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(new TtrpcClient(socket, opts));
    });
  });
}
