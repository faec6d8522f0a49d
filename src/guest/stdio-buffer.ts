// One output stream of a container process (stdout or stderr), held in memory until
// the host fetches it with ReadStdout/ReadStderr. Bounded: once `limit` bytes wait,
// the source pipe is paused, so a process that writes faster than the host reads
// blocks in write(2) as on a full pipe instead of growing the agent.
import type { Readable } from 'node:stream';

export const DEFAULT_OUTPUT_LIMIT = 1 << 20;

interface Waiter {
  max: number;
  resolve: (data: Buffer) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class OutputBuffer {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #ended = false;
  #source: Readable | undefined;
  #pausedByUs = false;
  #waiters: Waiter[] = [];
  #drainTimer: NodeJS.Timeout | undefined;
  #resolveEnded!: () => void;
  /** Resolves when no more data will arrive (the source ended, failed or was cut off). */
  readonly finished = new Promise<void>((resolve) => (this.#resolveEnded = resolve));
  #resolveEofServed!: () => void;
  /** Resolves once a reader has been given the end of the stream (or the buffer was disposed). */
  readonly eofServed = new Promise<void>((resolve) => (this.#resolveEofServed = resolve));

  constructor(limit = DEFAULT_OUTPUT_LIMIT) {
    this.limit = limit;
  }

  /** Bytes waiting to be read. */
  get size(): number {
    return this.#size;
  }

  /** No more data will arrive (what is buffered can still be read). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Takes data from `source` until it ends, errors or closes. */
  attach(source: Readable): void {
    this.#source = source;
    source.on('data', (chunk: Buffer) => this.push(chunk));
    source.once('end', () => this.end());
    // EIO/EPIPE when the writer side vanishes is just the end of the stream.
    source.once('error', () => this.end());
    source.once('close', () => this.end());
  }

  push(chunk: Buffer): void {
    if (this.#ended || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    this.#serve();
    if (this.#size >= this.limit && this.#source && !this.#pausedByUs) {
      this.#pausedByUs = true;
      this.#source.pause();
    }
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#drainTimer);
    this.#resolveEnded();
    this.#serve();
  }

  /**
   * Up to `max` bytes, waiting while nothing is buffered and the stream is open.
   * An empty buffer means end of stream. Concurrent reads are served in call order.
   */
  read(max: number, signal?: AbortSignal): Promise<Buffer> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { max: Math.max(1, max), resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#serve();
    });
  }

  /**
   * The process has exited: what is still in the pipe gets `graceMs` to arrive, then
   * the stream ends even if a left-over child keeps the pipe's write side open (Kata
   * drains for at most 500 ms). While the host has not made room in a full buffer the
   * grace period restarts, so waiting output is never cut off.
   */
  endAfter(graceMs: number): void {
    if (this.#ended || this.#drainTimer) return;
    const fire = (): void => {
      if (this.#ended) return;
      if (this.#pausedByUs) {
        this.#drainTimer = setTimeout(fire, graceMs);
        return;
      }
      this.#source?.destroy();
      this.end();
    };
    this.#drainTimer = setTimeout(fire, graceMs);
  }

  /** Drops buffered data and the source: the process is being removed. */
  dispose(): void {
    this.#chunks = [];
    this.#size = 0;
    this.#source?.destroy();
    this.end();
    this.#resolveEofServed();
  }

  #serve(): void {
    while (this.#waiters.length > 0 && (this.#size > 0 || this.#ended)) {
      const w = this.#waiters.shift() as Waiter;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      const data = this.#take(w.max);
      if (data.length === 0) this.#resolveEofServed();
      w.resolve(data);
    }
  }

  #take(max: number): Buffer {
    const parts: Buffer[] = [];
    let n = 0;
    while (n < max && this.#chunks.length > 0) {
      const head = this.#chunks[0] as Buffer;
      const want = max - n;
      if (head.length <= want) {
        parts.push(head);
        n += head.length;
        this.#chunks.shift();
      } else {
        parts.push(head.subarray(0, want));
        this.#chunks[0] = head.subarray(want);
        n += want;
      }
    }
    this.#size -= n;
    if (this.#pausedByUs && this.#size < this.limit) {
      this.#pausedByUs = false;
      this.#source?.resume();
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }
}
