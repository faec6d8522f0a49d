// Per-call options on the client side: deadline, cancellation and metadata.
import type { RequestFields } from './envelope.js';
import { Metadata, type MetadataInit } from './metadata.js';
import { Code, RuntimeError } from '../errors/index.js';

export interface CallOptions {
  /** Sent as timeout_nano and enforced locally: the call rejects with DEADLINE_EXCEEDED. */
  timeoutMs?: number;
  /** Aborting rejects the call with CANCELLED (ttrpc cannot tell the server; it just forgets the stream). */
  signal?: AbortSignal;
  metadata?: MetadataInit;
}

export const deadlineError = (): RuntimeError => new RuntimeError(Code.DEADLINE_EXCEEDED, 'context deadline exceeded');
export const cancelledError = (reason?: unknown): RuntimeError =>
  new RuntimeError(Code.CANCELLED, 'context canceled', reason === undefined ? undefined : { cause: reason });

const NO_METADATA: readonly [] = [];
/** setTimeout's limit; a longer local deadline is left to the server. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function requestFields(service: string, method: string, opts: CallOptions): RequestFields {
  return {
    service,
    method,
    timeoutNano: opts.timeoutMs === undefined ? 0 : Math.round(opts.timeoutMs * 1e6),
    metadata: opts.metadata === undefined ? NO_METADATA : Metadata.from(opts.metadata).toKeyValues(),
  };
}

/** Error that prevents the call from starting at all, if any. */
export function preflight(opts: CallOptions): RuntimeError | undefined {
  if (opts.signal?.aborted) return cancelledError(opts.signal.reason);
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0)) return deadlineError();
  return undefined;
}

/** Arms the deadline and the abort signal; `fail` runs at most once; returns the disarm function. */
export function watchCall(opts: CallOptions, fail: (err: RuntimeError) => void): (() => void) | undefined {
  const { timeoutMs, signal } = opts;
  if (timeoutMs === undefined && signal === undefined) return undefined;
  const timer =
    timeoutMs === undefined || timeoutMs > MAX_TIMER_MS ? undefined : setTimeout(() => fail(deadlineError()), timeoutMs);
  const onAbort = (): void => fail(cancelledError(signal?.reason));
  signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
}
