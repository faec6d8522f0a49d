// Collects items as they arrive and lets a test wait for the first one matching a predicate.

interface Waiter<T> {
  match: (item: T) => boolean;
  resolve: (item: T) => void;
  reject: (error: Error) => void;
}

export class EventLog<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<Waiter<T>>();
  private failure: Error | undefined;

  push(item: T): void {
    this.items.push(item);
    for (const w of this.waiters) {
      if (w.match(item)) {
        this.waiters.delete(w);
        w.resolve(item);
      }
    }
  }

  /** The source ended: pending and future next() calls that find nothing fail with `error`. */
  fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiters) w.reject(error);
    this.waiters.clear();
  }

  /** The first item, received before or after this call, for which `match` is true. */
  next(match: (item: T) => boolean, timeoutMs = 5_000, what = 'event'): Promise<T> {
    const found = this.items.find(match);
    if (found !== undefined) return Promise.resolve(found);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching ${what} within ${timeoutMs} ms (${this.items.length} received)`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        match,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.add(waiter);
    });
  }
}
