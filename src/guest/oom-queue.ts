// GetOOMEvent is a long poll: each call takes the next container that hit OOM. The host
// may keep several polls outstanding: each event goes to exactly one of them, oldest poll
// first; an event nobody polls for waits here. A burst of events for one container is
// one event until the host has taken it.
import { unavailable } from '../errors/index.js';

/**
 * Distinct containers whose OOM nobody has taken yet. Only a host that stopped polling
 * fills it; then the oldest event is dropped so memory stays bounded.
 */
export const OOM_QUEUE_CAPACITY = 256;

export interface OomQueueOptions {
  capacity?: number;
  /** Told about each event dropped because the queue was full (for a log line). */
  onDrop?: (containerId: string) => void;
}

interface Waiter {
  readonly signal: AbortSignal | undefined;
  resolve(containerId: string): void;
  reject(err: unknown): void;
}

export class OomQueue {
  #pending: string[] = [];
  #waiters: Waiter[] = [];
  #closed: Error | undefined;
  readonly #capacity: number;
  readonly #onDrop: (containerId: string) => void;

  constructor(opts: OomQueueOptions = {}) {
    this.#capacity = Math.max(1, opts.capacity ?? OOM_QUEUE_CAPACITY);
    this.#onDrop = opts.onDrop ?? (() => undefined);
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Events queued for the next polls. */
  get size(): number {
    return this.#pending.length;
  }

  push(containerId: string): void {
    if (this.#closed) return;
    const waiter = this.#nextWaiter();
    if (waiter) return waiter.resolve(containerId);
    if (this.#pending.includes(containerId)) return;
    this.#pending.push(containerId);
    if (this.#pending.length > this.#capacity) this.#onDrop(this.#pending.shift() as string);
  }

  /** The next event; waits for one when none is queued. An aborted poll takes nothing. */
  next(signal?: AbortSignal): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closed);
    // Checked before the queue: the answer to an aborted poll would never reach the host.
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ready = this.#pending.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        signal,
        resolve: (id) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(id);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Fails every waiting and future call: the sandbox is going away. */
  close(reason = 'sandbox destroyed'): void {
    this.#closed = unavailable(`OOM events: ${reason}`);
    for (const w of this.#waiters.splice(0)) w.reject(this.#closed);
    this.#pending = [];
  }

  /**
   * The oldest waiter still there. A signal can already be aborted while its listener
   * has not run yet (an earlier abort listener pushed an event): that poll is failed
   * here and the event goes to the next one, or to the queue.
   */
  #nextWaiter(): Waiter | undefined {
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
      if (!w.signal?.aborted) return w;
      w.reject(w.signal.reason);
    }
    return undefined;
  }
}
