// A streaming call on the client (ttrpc >= 1.2 Data frames, protocol-reference §1.4).
import { watchCall, cancelledError, type CallOptions } from './call-options.js';
import { decodeMessage, decodeResponse, protocolError, type CallHost, type ClientStreamState } from './client-call.js';
import { dataFrame } from './envelope.js';
import { Flags, MessageType, type Frame } from './frame.js';
import { MessageQueue } from './message-queue.js';
import type { MessageClass, MethodDef, StreamReader, StreamWriter } from './service.js';
import { Code, RuntimeError } from '../errors/index.js';

export interface ClientReadableStream<Res> extends StreamReader<Res> {
  /** Stops the call locally; reads reject with CANCELLED. */
  cancel(): void;
}

export interface ClientWritableStream<Req, Res> extends StreamWriter<Req> {
  /** Tells the server no more messages follow (Data frame with flags 0x05). */
  closeSend(): Promise<void>;
  /** closeSend(), then the single response. */
  closeAndRecv(): Promise<Res>;
  cancel(): void;
}

export interface ClientDuplexStream<Req, Res> extends StreamReader<Res>, StreamWriter<Req> {
  /** Tells the server no more messages follow (Data frame with flags 0x05). */
  closeSend(): Promise<void>;
  cancel(): void;
}

const CLOSE_NO_DATA = Flags.REMOTE_CLOSED | Flags.NO_DATA;

export class ClientStream<Req, Res>
  implements ClientStreamState, ClientReadableStream<Res>, ClientWritableStream<Req, Res>, ClientDuplexStream<Req, Res>
{
  private readonly inbound = new MessageQueue<Res>();
  private readonly response: Promise<Res>;
  private resolveResponse!: (value: Res) => void;
  private rejectResponse!: (err: RuntimeError) => void;
  private readonly disarm: (() => void) | undefined;
  private sendClosed = false;
  private failure: RuntimeError | undefined;
  private finished = false;

  constructor(
    private readonly host: CallHost,
    private readonly id: number,
    private readonly method: MethodDef,
    opts: CallOptions,
  ) {
    this.response = new Promise<Res>((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    // Only closeAndRecv() exposes it; a failure nobody asked for must not be "unhandled".
    this.response.catch(() => undefined);
    this.sendClosed = !method.requestStream;
    this.disarm = watchCall(opts, (err) => this.fail(err, true));
  }

  async send(message: Req): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.sendClosed || this.finished) throw new RuntimeError(Code.FAILED_PRECONDITION, 'ttrpc: stream closed for sending');
    if (!this.host.send(dataFrame(this.id, 0, this.method.requestType, message))) await this.host.drained();
  }

  async closeSend(): Promise<void> {
    if (this.sendClosed || this.finished) return;
    this.sendClosed = true;
    if (!this.host.send(dataFrame(this.id, CLOSE_NO_DATA))) await this.host.drained();
  }

  async closeAndRecv(): Promise<Res> {
    await this.closeSend();
    return this.response;
  }

  recv(): Promise<Res | undefined> {
    return this.inbound.recv();
  }

  [Symbol.asyncIterator](): AsyncIterator<Res> {
    return this.inbound[Symbol.asyncIterator]();
  }

  cancel(): void {
    this.fail(cancelledError(), true);
  }

  frame(f: Frame): void {
    const type = this.method.responseType as MessageClass<Res>;
    if (f.type === MessageType.Response) {
      const result = decodeResponse(f.payload, type);
      if (!result.ok) return this.fail(result.error);
      this.finish();
      if (this.method.responseStream) this.inbound.push(result.value);
      else this.resolveResponse(result.value);
      this.inbound.end();
    } else if (f.type === MessageType.Data && this.method.responseStream) {
      if ((f.flags & Flags.NO_DATA) === 0) {
        const result = decodeMessage(f.payload, type);
        if (!result.ok) return this.fail(result.error);
        this.inbound.push(result.value);
      }
      if ((f.flags & Flags.REMOTE_CLOSED) !== 0) {
        this.finish();
        this.inbound.end();
        this.rejectResponse(protocolError('stream ended without a response'));
      }
    } else {
      this.fail(protocolError(`message type ${f.type} on stream ${this.id}`));
    }
  }

  /** Ends the call with `err`; messages already received are still readable unless `discard`. */
  fail(err: RuntimeError, discard = false): void {
    if (this.finished) return;
    this.failure = err;
    this.finish();
    this.inbound.fail(err, discard);
    this.rejectResponse(err);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.disarm?.();
    this.host.release(this.id);
  }
}
