// Dialing the agent while the VM boots: keep trying until it answers or the dial
// timeout passes (Kata retries for [agent.kata] dial_timeout, 45 s by default).
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, RuntimeError } from '../../errors/index.js';

export interface RetryOptions {
  timeoutMs: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** What is dialed, for the final error, e.g. the agent URL. */
  target?: string;
}

/** One attempt; the signal fires when the overall deadline passes or the caller aborts. */
export type Dial = (signal: AbortSignal) => Promise<Duplex>;
/** Optional probe on a fresh connection (e.g. Health.Check); false or a throw means retry. */
export type IsReady = (stream: Duplex) => Promise<boolean>;

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

export async function dialWithRetry(dial: Dial, opts: RetryOptions, isReady?: IsReady): Promise<Duplex> {
  const started = Date.now();
  const target = opts.target ?? 'agent';
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal === undefined ? deadline : AbortSignal.any([opts.signal, deadline]);
  const seen = new Map<string, number>(); // distinct failures and how often they happened
  let attempts = 0;
  let lastError: unknown;
  let cutShort = false; // the final attempt was still pending at the deadline

  while (!signal.aborted) {
    attempts++;
    let stream: Duplex | undefined;
    try {
      stream = await untilAborted(dial(signal), signal, (late) => late.destroy());
      if (isReady === undefined || (await untilAborted(isReady(stream), signal))) return stream;
      throw new Error('connected, but the readiness check failed');
    } catch (err) {
      stream?.destroy();
      if (signal.aborted && err === signal.reason) {
        cutShort = true;
        break;
      }
      lastError = err;
      const text = describe(err);
      seen.set(text, (seen.get(text) ?? 0) + 1);
    }
    try {
      await sleep(opts.intervalMs ?? 50, undefined, { signal });
    } catch {
      break; // deadline or abort while waiting
    }
  }
  const tried = `${attempts} attempt${attempts === 1 ? '' : 's'} in ${Date.now() - started} ms`;
  if (opts.signal?.aborted) {
    throw new RuntimeError(Code.CANCELLED, `dial ${target}: aborted after ${tried}`, { cause: opts.signal.reason });
  }
  const errors = [...seen].map(([text, n]) => (n > 1 ? `${text} (x${n})` : text)).join('; ');
  throw new RuntimeError(
    Code.UNAVAILABLE,
    `dial ${target}: not reachable after ${tried} (timeout ${opts.timeoutMs} ms)` +
      (lastError === undefined ? '' : `; last error: ${describe(lastError)}`) +
      (seen.size > 1 ? `; errors seen: ${errors}` : '') +
      (cutShort ? '; the last attempt was still pending at the timeout' : ''),
    { cause: lastError },
  );
}

/**
 * Races work against the signal, for dials and probes that ignore it; a result that
 * arrives after we gave up goes to `discard` (a late connection is closed, not leaked).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, discard?: (late: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const onAbort = (): void => {
      late = true;
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (late) discard?.(v);
        else resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err); // no-op after an abort already rejected
      },
    );
  });
}
