// Options every transport's dial accepts, and the one deadline/abort guard they share.
import { Code, RuntimeError } from '../../errors/index.js';

export interface DialOptions {
  /** Abandon the attempt (the pending socket is closed). */
  signal?: AbortSignal;
  /** Give up after this long; undefined leaves it to the kernel / the transport default. */
  timeoutMs?: number;
}

/**
 * Settles a pending dial at most once: on the first of success, failure, timeout or
 * abort. `cleanup` undoes the half-done attempt (closes its socket) on failure.
 */
export function guardDial<T>(
  what: string,
  opts: DialOptions,
  start: (settle: (err: Error | undefined, value?: T) => void) => void,
  cleanup: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onAbort = (): void => settle(new RuntimeError(Code.CANCELLED, `${what}: aborted`, { cause: opts.signal?.reason }));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => settle(new RuntimeError(Code.DEADLINE_EXCEEDED, `${what}: timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    function settle(err: Error | undefined, value?: T): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve(value as T);
      } else {
        cleanup();
        reject(err);
      }
    }
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    start(settle);
  });
}
