// Server side of one connection: validates every frame, dispatches Requests to handlers
// concurrently, and guarantees each stream id gets at most one terminal answer.
// Rules and messages follow Go ttrpc >= 1.2 `server.go` (protocol-reference §1.2-1.4).
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { ttrpc } from '../gen/proto.js';
import { Channel } from './channel.js';
import { errorFrame, oversizedError } from './envelope.js';
import { MessageType, type Frame } from './frame.js';
import { Metadata } from './metadata.js';
import { HandlerContext, ServerCall, type CallPort, type RegisteredMethod } from './server-call.js';
import { Code, RuntimeError, deadlineExceeded, invalidArgument, unavailable, unimplemented } from '../errors/index.js';

export type ServiceTable = ReadonlyMap<string, ReadonlyMap<string, RegisteredMethod>>;

export interface ConnectionHost {
  readonly services: ServiceTable;
  isClosing(): boolean;
  readonly log: Logger | undefined;
  released(conn: ServerConnection): void;
}

/** setTimeout's limit; a longer timeout_nano (over 24 days) is treated as no deadline. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ServerConnection {
  private readonly channel: Channel;
  private readonly port: CallPort;
  private readonly calls = new Map<number, ServerCall>();
  private lastStreamId = 0;
  private draining = false;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    stream: Duplex,
    private readonly host: ConnectionHost,
  ) {
    this.channel = new Channel(
      stream,
      {
        frame: (f) => this.onFrame(f),
        oversized: (h) => this.failStream(h.streamId, oversizedError(h.length)),
        closed: (err) => this.onClosed(err),
      },
      { pauseReadsOnBackpressure: true },
    );
    this.port = {
      send: (frame) => this.channel.send(frame),
      drained: () => this.channel.drained(),
      holdReads: () => this.channel.holdReads(),
      fail: (call, err) => this.fail(call, err),
    };
  }

  /** Number of calls still waiting for their answer. */
  get active(): number {
    return this.calls.size;
  }

  /** Closes now when idle, otherwise right after the last in-flight call is answered. */
  drain(): void {
    this.draining = true;
    if (this.calls.size === 0) this.channel.end();
  }

  close(): void {
    this.channel.close();
  }

  private fail(call: ServerCall, err: RuntimeError): void {
    if (this.calls.get(call.id) !== call) return;
    this.calls.delete(call.id);
    call.end(err);
    this.channel.send(errorFrame(call.id, err));
    this.afterAnswer();
  }

  private failStream(id: number, err: RuntimeError): void {
    const call = this.calls.get(id);
    if (call !== undefined) this.fail(call, err);
    else this.channel.send(errorFrame(id, err));
  }

  private onFrame(f: Frame): void {
    if ((f.streamId & 1) === 0) {
      this.failStream(f.streamId, invalidArgument('StreamID must be odd for client initiated streams'));
    } else if (f.type === MessageType.Request) {
      this.onRequest(f);
    } else if (f.type === MessageType.Data) {
      const call = this.calls.get(f.streamId);
      if (call === undefined) {
        this.channel.send(errorFrame(f.streamId, invalidArgument('StreamID is no longer active')));
        return;
      }
      const err = call.data(f);
      if (err !== undefined) this.fail(call, err);
    } else {
      // Go ignores other types; answering keeps "every frame gets a reply or a close" true.
      this.failStream(f.streamId, invalidArgument(`ttrpc: unexpected message type ${f.type}`));
    }
  }

  private onRequest(f: Frame): void {
    const id = f.streamId;
    if (id <= this.lastStreamId) {
      this.failStream(id, invalidArgument('StreamID cannot be re-used and must increment'));
      return;
    }
    this.lastStreamId = id;
    if (this.host.isClosing()) {
      this.channel.send(errorFrame(id, unavailable('ttrpc: server closed')));
      return;
    }
    let req: ttrpc.Request;
    try {
      req = ttrpc.Request.decode(f.payload);
    } catch (err) {
      this.channel.send(errorFrame(id, invalidArgument(`unmarshal request error: ${(err as Error).message}`)));
      return;
    }
    const service = this.host.services.get(req.service);
    const method = service?.get(req.method);
    if (method === undefined) {
      const what = service === undefined ? `service ${req.service}` : `method ${req.method}`;
      this.channel.send(errorFrame(id, unimplemented(what)));
      return;
    }
    this.start(id, req, method);
  }

  private start(id: number, req: ttrpc.Request, method: RegisteredMethod): void {
    if (req.timeoutNano < 0) {
      // Already past its deadline: no point running the handler.
      this.channel.send(errorFrame(id, deadlineExceeded('context deadline exceeded')));
      return;
    }
    const call = new ServerCall(id, method, this.port);
    this.calls.set(id, call);
    let deadline: number | undefined;
    if (req.timeoutNano > 0) {
      const ms = Math.ceil(req.timeoutNano / 1e6);
      deadline = Date.now() + ms;
      if (ms <= MAX_TIMER_MS) call.armDeadline(ms);
    }
    const ctx = new HandlerContext(call, Metadata.fromKeyValues(req.metadata), deadline, req.service, req.method);
    call
      .run(req.payload, ctx)
      .then((frame) => this.finish(call, frame))
      .catch((err: unknown) => this.internalError(err));
  }

  private finish(call: ServerCall, frame: Uint8Array): void {
    if (this.calls.get(call.id) !== call) return;
    this.calls.delete(call.id);
    call.end();
    this.channel.send(frame);
    this.afterAnswer();
  }

  private afterAnswer(): void {
    if (this.draining && this.calls.size === 0) this.channel.end();
  }

  private internalError(err: unknown): void {
    this.host.log?.error({ err }, 'ttrpc: internal server error; closing connection');
    this.channel.close(err instanceof Error ? err : new Error(String(err)));
  }

  private onClosed(err: Error | undefined): void {
    if (err !== undefined) this.host.log?.debug({ err }, 'ttrpc: server connection error');
    const reason = new RuntimeError(Code.CANCELLED, 'ttrpc: connection closed', { cause: err });
    for (const call of this.calls.values()) call.end(reason);
    this.calls.clear();
    this.host.released(this);
    this.resolveClosed();
  }
}
