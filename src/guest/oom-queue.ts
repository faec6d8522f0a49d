// GetOOMEvent is a long poll: each call takes the next container that hit OOM. A burst
// of notifications for one container (cgroup v1 reports every failed charge) is one
// event until the host has taken it.
import { unavailable } from '../errors/index.js';

interface Taker {
  resolve: (containerId: string) => void;
  reject: (err: unknown) => void;
}

export class OomQueue {
  #pending: string[] = [];
  #takers: Taker[] = [];
  #closed: Error | undefined;

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  push(containerId: string): void {
    if (this.#closed) return;
    const taker = this.#takers.shift();
    if (taker) return taker.resolve(containerId);
    if (!this.#pending.includes(containerId)) this.#pending.push(containerId);
  }

  next(signal?: AbortSignal): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closed);
    const ready = this.#pending.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const taker: Taker = { resolve, reject };
      const onAbort = (): void => {
        this.#takers = this.#takers.filter((t) => t !== taker);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      taker.resolve = (id) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(id);
      };
      this.#takers.push(taker);
    });
  }

  /** Fails every waiting and future call: the sandbox is going away. */
  close(reason = 'sandbox destroyed'): void {
    this.#closed = unavailable(`OOM events: ${reason}`);
    for (const t of this.#takers.splice(0)) t.reject(this.#closed);
    this.#pending = [];
  }
}
