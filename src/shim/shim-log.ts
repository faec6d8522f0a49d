// The daemon's log: JSON lines into the bundle's `log` FIFO, which containerd reads and
// copies to its own log. Run by hand (no FIFO, or nobody reading it) it falls back to stderr.
//
// Writing never blocks the event loop. A synchronous destination on a FIFO that containerd
// stops reading would (retrying EAGAIN, forever: the logger's own fd destination does), and with
// it every RPC and every VM of the pod. So lines go out with non-blocking writes; what the
// pipe does not take waits in a bounded queue, retried on a timer; beyond the bound lines are
// dropped, counted, and reported in one line once the reader catches up.
import { closeSync, constants, openSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, sleepSync, type Logger } from '../log/logger.js';
import { LOG_FIFO } from './bundle.js';
import { SHIM_NAME } from './version.js';

export interface ShimLogOptions {
  /** Bytes held while containerd is not reading; lines that do not fit are dropped and counted. */
  bufferBytes?: number;
  /** How long close() keeps handing queued lines to a slow reader before giving up. */
  closeTimeoutMs?: number;
  /** After the reader went away (containerd restarting), reopen the FIFO at most this often. */
  reopenIntervalMs?: number;
}

export interface ShimLog {
  readonly log: Logger;
  /**
   * Writes what is still queued, for at most closeTimeoutMs, then closes the FIFO. Synchronous
   * because the daemon exits right after; never throws. Later lines are discarded.
   */
  close(): void;
}

export const SHIM_LOG_DEFAULTS: Readonly<Required<ShimLogOptions>> = {
  bufferBytes: 1024 * 1024,
  closeTimeoutMs: 500,
  reopenIntervalMs: 1000,
};

export function openShimLog(
  bundle: string,
  debug: boolean,
  base: Record<string, string>,
  options: ShimLogOptions = {},
): ShimLog {
  const level = debug ? 'debug' : 'info';
  const fields = { name: SHIM_NAME, ...base };
  const path = join(bundle, LOG_FIFO);
  const fd = openForWriting(path);
  if (fd === undefined) {
    // By hand: stderr is a terminal or a file, where synchronous writes are what one wants.
    return { log: createLogger({ level, destination: 2, base: fields }), close: () => undefined };
  }
  const sink = new FifoSink(path, fd, { ...SHIM_LOG_DEFAULTS, ...options });
  const log = createLogger({ level, destination: sink, base: fields });
  sink.onResumed = (dropped) =>
    log.warn({ dropped }, `shim log: ${dropped} lines dropped while containerd was not reading the log FIFO`);
  return { log, close: () => sink.close() };
}

/**
 * Non-blocking, so a FIFO without a reader fails (ENXIO) instead of hanging the daemon.
 * containerd opens its end read-write, so it stays open as long as containerd runs.
 */
function openForWriting(path: string): number | undefined {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

const RETRY_MIN_MS = 5;
const RETRY_MAX_MS = 100;
const CLOSE_POLL_MS = 5;
/** One writev: the pipe holds 64 KiB, so more per call only costs copying. */
const BATCH_BYTES = 64 * 1024;
const BATCH_BUFFERS = 256;

/** A log destination writing to a FIFO without ever blocking; see the file comment. */
class FifoSink {
  /** Called once the queue drained after lines were dropped. */
  onResumed: (dropped: number) => void = () => undefined;
  private fd: number | undefined;
  private readonly queue: Buffer[] = [];
  /** Bytes of queue[0] the pipe already took. */
  private headOffset = 0;
  private queuedBytes = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private lastReopen = 0;
  private closing = false;
  private closed = false;

  constructor(
    private readonly path: string,
    fd: number,
    private readonly options: Required<ShimLogOptions>,
  ) {
    this.fd = fd;
  }

  write(line: string): void {
    if (this.closed || line.length === 0) return;
    const buf = Buffer.from(line);
    if (this.queuedBytes + buf.length > this.options.bufferBytes) {
      this.dropped++;
      return;
    }
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    // A pending timer means the pipe is full or the reader gone: keep the order, wait for it.
    if (this.timer === undefined && !this.pump()) this.schedule();
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    // A slow reader gets until the deadline; a gone one gets a single reopen attempt.
    this.lastReopen = 0;
    const deadline = Date.now() + this.options.closeTimeoutMs;
    while (!this.pump() && this.fd !== undefined && Date.now() < deadline) sleepSync(CLOSE_POLL_MS);
    this.closed = true;
    this.queue.length = 0;
    this.release();
  }

  /** Writes as much of the queue as the pipe takes now; true once nothing is left to do. */
  private pump(): boolean {
    if (this.fd === undefined && this.reopen() === undefined) return this.queue.length === 0 && this.dropped === 0;
    const fd = this.fd as number;
    while (this.queue.length > 0) {
      let written: number;
      try {
        written = writevSync(fd, this.batch());
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') this.readerLost();
        return false;
      }
      if (written === 0) return false;
      this.consume(written);
    }
    this.retryMs = RETRY_MIN_MS;
    if (this.dropped > 0) {
      const dropped = this.dropped;
      this.dropped = 0;
      this.onResumed(dropped);
    }
    return true;
  }

  private batch(): Buffer[] {
    const first = this.queue[0] as Buffer;
    const out = [first.subarray(this.headOffset)];
    let bytes = first.length - this.headOffset;
    for (let i = 1; i < this.queue.length && i < BATCH_BUFFERS && bytes < BATCH_BYTES; i++) {
      const buf = this.queue[i] as Buffer;
      out.push(buf);
      bytes += buf.length;
    }
    return out;
  }

  private consume(written: number): void {
    let left = written;
    while (left > 0) {
      const head = this.queue[0] as Buffer;
      const rest = head.length - this.headOffset;
      if (left < rest) {
        this.headOffset += left;
        return;
      }
      left -= rest;
      this.queue.shift();
      this.queuedBytes -= head.length;
      this.headOffset = 0;
    }
  }

  /** EPIPE and the like: containerd went away. Reopen later; it reopens the FIFO when it restarts. */
  private readerLost(): void {
    this.release();
    // The old reader got part of this line; the next one must not start with the rest of it.
    if (this.headOffset > 0) {
      const head = this.queue.shift() as Buffer;
      this.queuedBytes -= head.length;
      this.headOffset = 0;
      this.dropped++;
    }
  }

  private reopen(): number | undefined {
    if (this.closed || Date.now() - this.lastReopen < this.options.reopenIntervalMs) return undefined;
    this.lastReopen = Date.now();
    this.fd = openForWriting(this.path);
    return this.fd;
  }

  private release(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing left to report it to
    }
    this.fd = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closing) return;
    const delay = this.fd === undefined ? this.options.reopenIntervalMs : this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.pump()) this.schedule();
    }, delay);
    // A log must never be what keeps the daemon alive.
    this.timer.unref();
  }
}
