// A Duplex over a non-blocking socket fd driven by a native Watcher. Reads happen only
// while the consumer wants data (backpressure stops polling), writes wait for
// writability, end() half-closes with shutdown(SHUT_WR), and 'close' is emitted once,
// after the fd is closed.
import { Duplex } from 'node:stream';
import { READABLE, WRITABLE, type VsockBinding } from './native-vsock.js';
import { Poll, pollError } from './poll.js';

const CHUNK = 64 * 1024;

export interface FdStreamOptions {
  /** Keep the writable side open after the peer ends (default false, as net.Socket). */
  allowHalfOpen?: boolean;
  /** Shown in errors and by toString, e.g. "vsock cid 3 port 1024". */
  description?: string;
}

interface PendingWrite {
  data: Buffer;
  callback: (err?: Error | null) => void;
}

export class FdStream extends Duplex {
  readonly description: string;
  #binding: VsockBinding;
  #poll: Poll;
  #scratch: Buffer | undefined;
  #reading = false;
  #pending: PendingWrite | undefined;

  constructor(binding: VsockBinding, poll: Poll, opts: FdStreamOptions = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false });
    this.description = opts.description ?? `fd ${poll.fd}`;
    this.#binding = binding;
    this.#poll = poll;
    poll.onEvent = (status, events) => this.#onEvent(status, events);
    poll.want(0);
  }

  override toString(): string {
    return this.description;
  }

  override _read(): void {
    this.#reading = true;
    this.#pump();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#pending = { data: chunk, callback };
    this.#flush();
  }

  // ttrpc writes a header and a payload per message: one syscall for both.
  override _writev(chunks: { chunk: Buffer }[], callback: (err?: Error | null) => void): void {
    this.#pending = { data: Buffer.concat(chunks.map((c) => c.chunk)), callback };
    this.#flush();
  }

  override _final(callback: (err?: Error | null) => void): void {
    try {
      this.#binding.shutdown(this.#poll.fd);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#reading = false;
    pending?.callback(Object.assign(new Error(`${this.description}: stream destroyed`), { code: 'ERR_STREAM_DESTROYED' }));
    // Callback only after the fd is closed, so 'close' means the descriptor is gone.
    void this.#poll.close().then(() => callback(err));
  }

  #onEvent(status: number, events: number): void {
    if (this.#poll.isClosed) return;
    if (status < 0) {
      this.destroy(pollError(this.#binding, this.#poll.fd, status, this.description));
      return;
    }
    if (events & WRITABLE) this.#flush();
    if (events & READABLE) this.#pump();
  }

  #updateInterest(): void {
    this.#poll.want((this.#reading ? READABLE : 0) | (this.#pending ? WRITABLE : 0));
  }

  /** Reads until the socket is drained or the consumer stops wanting data. */
  #pump(): void {
    while (this.#reading && !this.#poll.isClosed) {
      this.#scratch ??= Buffer.allocUnsafe(CHUNK);
      let n: number;
      try {
        n = this.#binding.read(this.#poll.fd, this.#scratch);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if (n < 0) break; // nothing yet: wait for READABLE
      if (n === 0) {
        this.#reading = false;
        this.push(null);
        break;
      }
      // Copy out: the scratch buffer is reused for the next read.
      this.#reading = this.push(Buffer.from(this.#scratch.subarray(0, n)));
    }
    this.#updateInterest();
  }

  /** Writes as much of the pending chunk as the socket takes; completes it when done. */
  #flush(): void {
    const pending = this.#pending;
    if (pending === undefined || this.#poll.isClosed) return;
    let data = pending.data;
    try {
      while (data.length > 0) {
        const n = this.#binding.write(this.#poll.fd, data);
        if (n < 0) break; // socket buffer full: wait for WRITABLE
        data = data.subarray(n);
      }
    } catch (err) {
      this.#pending = undefined;
      this.#updateInterest();
      pending.callback(err as Error);
      return;
    }
    pending.data = data;
    if (data.length === 0) this.#pending = undefined;
    this.#updateInterest();
    if (data.length === 0) pending.callback();
  }
}
