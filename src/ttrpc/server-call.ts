// One in-flight call on a server connection: runs its handler and, for streaming
// methods, carries Data frames both ways (protocol-reference §1.4).
import { Flags, type Frame } from './frame.js';
import { dataFrame, errorFrame, responseFrame } from './envelope.js';
import { MessageQueue } from './message-queue.js';
import type { Metadata } from './metadata.js';
import type { CallContext, MethodDef, MethodKind, StreamReader, StreamWriter } from './service.js';
import { Code, RuntimeError, deadlineExceeded, internal, invalidArgument, toRuntimeError } from '../errors/index.js';

export interface RegisteredMethod {
  readonly def: MethodDef;
  readonly kind: MethodKind;
  readonly fn: (first: unknown, second: unknown, third?: unknown) => unknown;
}

/** The part of the connection a call writes to. */
export interface CallPort {
  send(frame: Uint8Array): boolean;
  drained(): Promise<void>;
  holdReads(): () => void;
  /** Ends the call with `err` (answered on its stream). */
  fail(call: ServerCall, err: RuntimeError): void;
}

/** Go ttrpc buffers 64 client messages per stream and gives a full buffer 1 s to drain. */
const STREAM_BUFFER = 64;
const STREAM_FULL_TIMEOUT_MS = 1000;
const CLOSE_NO_DATA = Flags.REMOTE_CLOSED | Flags.NO_DATA;

export function decodePayload(def: MethodDef, payload: Uint8Array): unknown {
  try {
    return def.requestType.decode(payload);
  } catch (err) {
    throw internal(`ttrpc: error unmarshalling payload: ${(err as Error).message}`, err);
  }
}

/** A handler's view of its call; the signal is only materialised when read. */
export class HandlerContext implements CallContext {
  constructor(
    private readonly call: ServerCall,
    readonly metadata: Metadata,
    readonly deadline: number | undefined,
    readonly service: string,
    readonly method: string,
  ) {}

  get signal(): AbortSignal {
    return this.call.signal;
  }
}

export class ServerCall {
  // Created on first use: an AbortController per call costs more than the rest of a unary call.
  private controller: AbortController | undefined;
  private abortReason: RuntimeError | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private inbound: MessageQueue<unknown> | undefined;
  private releaseReads: (() => void) | undefined;
  private fullTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    readonly id: number,
    private readonly method: RegisteredMethod,
    private readonly port: CallPort,
  ) {}

  /** The handler's signal; aborts when the call is ended early (deadline, protocol error, disconnect). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /** Ends the call with DEADLINE_EXCEEDED after `ms`. */
  armDeadline(ms: number): void {
    this.deadlineTimer = setTimeout(() => this.port.fail(this, deadlineExceeded('context deadline exceeded')), ms);
  }

  /** Runs the handler; always resolves, with the frame that ends the stream. */
  async run(payload: Uint8Array, ctx: CallContext): Promise<Uint8Array> {
    const { def, kind, fn } = this.method;
    try {
      switch (kind) {
        case 'unary':
          return this.reply(await fn(decodePayload(def, payload), ctx));
        case 'serverStream':
          await fn(decodePayload(def, payload), this.writer(), ctx);
          return dataFrame(this.id, CLOSE_NO_DATA);
        case 'clientStream':
          return this.reply(await fn(this.openInbound(payload), ctx));
        case 'bidi':
          await fn(Object.assign(this.openInbound(payload), this.writer()), ctx);
          return dataFrame(this.id, CLOSE_NO_DATA);
      }
    } catch (err) {
      return errorFrame(this.id, toRuntimeError(err));
    }
  }

  private reply(res: unknown): Uint8Array {
    if (res === null || res === undefined) throw internal('ttrpc: handler returned no response');
    try {
      return responseFrame(this.id, undefined, this.method.def.responseType, res);
    } catch (err) {
      if (err instanceof RuntimeError) throw err;
      throw internal(`ttrpc: error marshaling payload: ${(err as Error).message}`, err);
    }
  }

  private writer(): StreamWriter<unknown> {
    const type = this.method.def.responseType;
    return {
      send: async (message: unknown): Promise<void> => {
        if (this.ended) throw this.endReason();
        if (!this.port.send(dataFrame(this.id, 0, type, message))) await this.port.drained();
      },
    };
  }

  private endReason(): RuntimeError {
    return this.abortReason ?? new RuntimeError(Code.CANCELLED, 'ttrpc: stream closed');
  }

  /** Client streams may carry a first message in the Request itself (Go: non-empty payload). */
  private openInbound(payload: Uint8Array): StreamReader<unknown> {
    const queue = new MessageQueue<unknown>();
    queue.onTake = () => {
      if (this.releaseReads !== undefined && queue.size < STREAM_BUFFER) this.unhold();
    };
    this.inbound = queue;
    if (payload.length > 0) queue.push(decodePayload(this.method.def, payload));
    return { recv: () => queue.recv(), [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator]() };
  }

  /** Handles a Data frame for this call; returns the error that must end the stream, if any. */
  data(frame: Frame): RuntimeError | undefined {
    const queue = this.inbound;
    if (queue === undefined || queue.closed) return invalidArgument('data handling error: ttrpc: stream closed');
    const closing = (frame.flags & Flags.REMOTE_CLOSED) !== 0;
    if (closing && frame.payload.length > 0) return invalidArgument('data close message cannot include data');
    if ((frame.flags & Flags.NO_DATA) === 0) {
      let message: unknown;
      try {
        message = decodePayload(this.method.def, frame.payload);
      } catch (err) {
        return toRuntimeError(err);
      }
      queue.push(message);
      if (queue.size >= STREAM_BUFFER && this.releaseReads === undefined) this.hold();
    }
    if (closing) queue.end();
    return undefined;
  }

  private hold(): void {
    this.releaseReads = this.port.holdReads();
    this.fullTimer = setTimeout(
      () => this.port.fail(this, invalidArgument('data handling error: ttrpc: stream buffer full')),
      STREAM_FULL_TIMEOUT_MS,
    );
  }

  private unhold(): void {
    clearTimeout(this.fullTimer);
    this.releaseReads?.();
    this.releaseReads = undefined;
  }

  /** Stops timers and read holds; with `err`, also aborts the handler and fails its reads. */
  end(err?: RuntimeError): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.deadlineTimer);
    this.unhold();
    if (err !== undefined) {
      this.abortReason = err;
      this.controller?.abort(err);
      this.inbound?.fail(err, true);
    }
  }
}
