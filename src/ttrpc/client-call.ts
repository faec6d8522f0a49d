// A unary call in flight on the client: one Request out, one Response back.
import { ttrpc } from '../gen/proto.js';
import { watchCall, type CallOptions } from './call-options.js';
import { MessageType, type Frame } from './frame.js';
import type { MessageClass } from './service.js';
import { RuntimeError, internal } from '../errors/index.js';
import { errorOfStatus } from './status.js';

/** What the client connection offers to its calls. */
export interface CallHost {
  send(frame: Uint8Array): boolean;
  drained(): Promise<void>;
  /** Forgets the stream id: later frames on it are ignored. */
  release(id: number): void;
}

/** A live stream id's receiver, as the client connection sees it. */
export interface ClientStreamState {
  frame(frame: Frame): void;
  fail(err: RuntimeError): void;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: RuntimeError };

/** Decodes a Response frame: a non-zero status wins, as Go clients return it. */
export function decodeResponse<T>(payload: Uint8Array, type: MessageClass<T>): Decoded<T> {
  let res: ttrpc.Response;
  try {
    res = ttrpc.Response.decode(payload);
  } catch (err) {
    return { ok: false, error: internal(`ttrpc: invalid response envelope: ${(err as Error).message}`, err) };
  }
  const status = res.status;
  if (status !== undefined && status !== null && status.code) {
    return { ok: false, error: errorOfStatus(status.code, status.message ?? '') };
  }
  return decodeMessage(res.payload, type);
}

export function decodeMessage<T>(payload: Uint8Array, type: MessageClass<T>): Decoded<T> {
  try {
    return { ok: true, value: type.decode(payload) };
  } catch (err) {
    return { ok: false, error: internal(`ttrpc: error unmarshalling response: ${(err as Error).message}`, err) };
  }
}

export const protocolError = (what: string): RuntimeError => internal(`ttrpc: protocol error: ${what}`);

export class UnaryCall<T> implements ClientStreamState {
  private readonly disarm: (() => void) | undefined;
  private done = false;

  constructor(
    private readonly host: CallHost,
    private readonly id: number,
    private readonly type: MessageClass<T>,
    private readonly resolve: (value: T) => void,
    private readonly reject: (err: RuntimeError) => void,
    opts: CallOptions,
  ) {
    this.disarm = watchCall(opts, (err) => this.fail(err));
  }

  frame(f: Frame): void {
    if (f.type !== MessageType.Response) {
      this.fail(protocolError(`message type ${f.type} on a unary call`));
      return;
    }
    const result = decodeResponse(f.payload, this.type);
    if (!this.settle()) return;
    if (result.ok) this.resolve(result.value);
    else this.reject(result.error);
  }

  fail(err: RuntimeError): void {
    if (this.settle()) this.reject(err);
  }

  private settle(): boolean {
    if (this.done) return false;
    this.done = true;
    this.disarm?.();
    this.host.release(this.id);
    return true;
  }
}
