// The JavaScript side of one native Watcher: a swappable event handler (a connecting
// socket hands its watcher over to the stream) and a close that resolves once the fd
// is really closed.
import { getSystemErrorMap } from 'node:util';
import type { NativeWatcher, VsockBinding } from './native-vsock.js';

export type PollHandler = (status: number, events: number) => void;

export class Poll {
  readonly fd: number;
  onEvent: PollHandler = () => {};
  #watcher: NativeWatcher;
  #events = 0;
  #closed: Promise<void> | undefined;

  /** Takes ownership of fd only when it returns; if it throws, the caller still owns fd. */
  constructor(binding: VsockBinding, fd: number) {
    this.fd = fd;
    this.#watcher = new binding.Watcher(fd, (status, events) => {
      if (status < 0) this.#events = 0; // libuv stops a poll handle after reporting an error
      this.onEvent(status, events);
    });
  }

  get isClosed(): boolean {
    return this.#closed !== undefined;
  }

  /** Polls for exactly `events` (READABLE | WRITABLE); 0 stops. Cheap when unchanged. */
  want(events: number): void {
    if (this.#closed !== undefined || events === this.#events) return;
    this.#events = events;
    this.#watcher.start(events);
  }

  /** Idempotent; the fd is closed when the promise resolves. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => this.#watcher.close(resolve));
    return this.#closed;
  }
}

/** An Error shaped like Node's system errors from a negative errno / libuv status. */
export function systemError(errno: number, syscall: string, what: string): NodeJS.ErrnoException {
  const [code, text] = getSystemErrorMap().get(errno) ?? [`E${-errno}`, 'unknown error'];
  return Object.assign(new Error(`vsock: ${what} failed: ${text}`), { code, errno, syscall });
}

/**
 * The error behind a failed poll. libuv reports any POLLERR as EBADF, so the socket's
 * own pending error (SO_ERROR), when there is one, is the real cause.
 */
export function pollError(binding: VsockBinding, fd: number, status: number, what: string): NodeJS.ErrnoException {
  const pending = binding.pendingError(fd);
  return pending > 0 ? systemError(-pending, 'read', what) : systemError(status, 'poll', what);
}
