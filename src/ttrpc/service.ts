// Types derived from the generated service descriptors (src/gen/services.ts), so servers
// and clients are typed from the .proto files and no method name is spelled by hand.
import type { Writer } from 'protobufjs';
import type { Metadata } from './metadata.js';

/** A generated message class: static encode/decode. */
export interface MessageClass<Decoded = unknown, Props = unknown> {
  encode(message: Props, writer?: Writer): Writer;
  decode(bytes: Uint8Array): Decoded;
}

export interface MethodDef {
  // `any` lets each generated class, whose encode takes its own props type, fit here.
  readonly requestType: MessageClass<any, any>;
  readonly responseType: MessageClass<any, any>;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export interface ServiceDef {
  /** Full proto name as sent on the wire, e.g. `containerd.task.v2.Task`. */
  readonly name: string;
  readonly methods: { readonly [method: string]: MethodDef };
}

type DecodedOf<C> = C extends { decode(bytes: Uint8Array): infer T } ? T : never;
type PropsOf<C> = C extends { encode(message: infer P, writer?: Writer): Writer } ? P : never;

/** What a handler receives / a client gets back: the decoded message. */
export type RequestOf<M extends MethodDef> = DecodedOf<M['requestType']>;
export type ResponseOf<M extends MethodDef> = DecodedOf<M['responseType']>;
/** What a caller sends / a handler returns: plain properties are enough. */
export type RequestProps<M extends MethodDef> = PropsOf<M['requestType']>;
export type ResponseProps<M extends MethodDef> = PropsOf<M['responseType']>;

export type MethodKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

export function methodKind(m: MethodDef): MethodKind {
  if (m.requestStream) return m.responseStream ? 'bidi' : 'clientStream';
  return m.responseStream ? 'serverStream' : 'unary';
}

export interface CallContext {
  /** Aborts on deadline (reason: DEADLINE_EXCEEDED), connection loss or server shutdown (CANCELLED). */
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  /** Epoch milliseconds, when the caller sent timeout_nano. */
  readonly deadline?: number;
  readonly service: string;
  readonly method: string;
}

/** Messages from the peer; `recv` resolves undefined once the peer has closed its side. */
export interface StreamReader<T> extends AsyncIterable<T> {
  recv(): Promise<T | undefined>;
}

export interface StreamWriter<T> {
  /** Resolves once the frame is queued below the transport's high-water mark. */
  send(message: T): Promise<void>;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
export type ServerStreamHandler<Req, Res> = (request: Req, stream: StreamWriter<Res>, ctx: CallContext) => Promise<void>;
export type ClientStreamHandler<Req, Res> = (stream: StreamReader<Req>, ctx: CallContext) => Promise<Res>;
export type BidiStreamHandler<Req, Res> = (
  stream: StreamReader<Req> & StreamWriter<Res>,
  ctx: CallContext,
) => Promise<void>;

export type HandlerFor<M extends MethodDef> = M['requestStream'] extends true
  ? M['responseStream'] extends true
    ? BidiStreamHandler<RequestOf<M>, ResponseProps<M>>
    : ClientStreamHandler<RequestOf<M>, ResponseProps<M>>
  : M['responseStream'] extends true
    ? ServerStreamHandler<RequestOf<M>, ResponseProps<M>>
    : UnaryHandler<RequestOf<M>, ResponseProps<M>>;

/** A server implementation of service S: one handler per method. */
export type Handlers<S extends ServiceDef> = { [K in keyof S['methods']]: HandlerFor<S['methods'][K]> };
