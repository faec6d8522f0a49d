// Waiting on conditions instead of sleeping: a bounded poll of a predicate, and a way to
// let the event loop turn without waiting on the clock.

export interface WaitUntilOptions {
  /**
   * What is awaited, named in the timeout error: "the shim socket to exist". A function is
   * called at the timeout, so the message can show the last state seen.
   */
  what: string | (() => string);
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Pause between checks; default 10 ms. */
  intervalMs?: number;
}

/**
 * Resolves once `predicate` returns true. Rejects with "timed out after N ms waiting for
 * <what>" if it still does not at the deadline; a predicate that throws rejects at once.
 */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, options: WaitUntilOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (performance.now() >= deadline) {
      const what = typeof options.what === 'function' ? options.what() : options.what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}

/**
 * Lets the event loop run `n` full turns (timers, I/O poll, immediates), so whatever was
 * already due (I/O events, callbacks, promise reactions) has run. No wall-clock wait.
 */
export async function eventLoopTurns(n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
