// The receive side of a stream: messages pushed by the connection, pulled by a consumer.
import type { StreamReader } from './service.js';

interface Waiter<T> {
  resolve(value: T | undefined): void;
  reject(err: unknown): void;
}

export class MessageQueue<T> implements StreamReader<T> {
  private items: T[] = [];
  private head = 0;
  private readonly waiters: Waiter<T>[] = [];
  private ended = false;
  private error: unknown;

  /** Called after the consumer takes a message, so a producer can lift backpressure. */
  onTake: (() => void) | undefined;

  get size(): number {
    return this.items.length - this.head;
  }

  get closed(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter.resolve(item);
    else this.items.push(item);
  }

  /** Normal end: queued messages are still delivered, then undefined. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const w of this.waiters.splice(0)) w.resolve(undefined);
  }

  /** Abnormal end: readers get `err` after the queued messages, or at once with `discard`. */
  fail(err: unknown, discard = false): void {
    if (this.error !== undefined) return;
    this.error = err;
    this.ended = true;
    if (discard) {
      this.items = [];
      this.head = 0;
    }
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  recv(): Promise<T | undefined> {
    if (this.head < this.items.length) {
      const item = this.items[this.head]!;
      this.items[this.head++] = undefined as T;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      }
      this.onTake?.();
      return Promise.resolve(item);
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = await this.recv();
      if (item === undefined) return;
      yield item;
    }
  }
}
