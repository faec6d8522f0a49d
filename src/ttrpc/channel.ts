// A frame pipe over any Duplex (unix socket, virtio-serial chardev socket, vsock stream).
// Writes made in the same tick are corked into one writev; a full write buffer can
// stop reading, so a peer that never reads cannot make us buffer without bound.
import type { Duplex } from 'node:stream';
import { FrameReader, type FrameSink } from './frame.js';

export interface ChannelHandler extends FrameSink {
  /** Called once, when the transport is gone; `err` is the transport error if any. */
  closed(err: Error | undefined): void;
}

export interface ChannelOptions {
  /** Stop reading while our own write buffer is over its high-water mark (servers). */
  pauseReadsOnBackpressure?: boolean;
}

export class Channel {
  private readonly reader: FrameReader;
  private corked = false;
  private holds = 0;
  private writeHold: (() => void) | undefined;
  private drain: Promise<void> | undefined;
  private done = false;
  private ending = false;

  constructor(
    readonly stream: Duplex,
    private readonly handler: ChannelHandler,
    private readonly options: ChannelOptions = {},
  ) {
    this.reader = new FrameReader(handler);
    stream.on('data', (chunk: Buffer | string) => {
      try {
        this.reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (err) {
        this.close(err instanceof Error ? err : new Error(String(err)));
      }
    });
    // ttrpc has no half-close: once the peer stops sending, nothing more can be answered
    // or received, so the connection is over (Go servers behave the same).
    stream.on('end', () => this.close());
    stream.on('error', (err: Error) => this.close(err));
    stream.on('close', () => this.close());
    if (stream.destroyed) queueMicrotask(() => this.close());
  }

  get closed(): boolean {
    return this.done;
  }

  /** Queues one complete frame; false once the transport is over its high-water mark or closed. */
  send(frame: Uint8Array): boolean {
    if (this.done || this.ending) return false;
    const stream = this.stream;
    if (!this.corked) {
      this.corked = true;
      stream.cork();
      process.nextTick(this.uncork);
    }
    const ok = stream.write(frame);
    if (!ok && this.options.pauseReadsOnBackpressure && this.writeHold === undefined) {
      this.writeHold = this.holdReads();
      void this.drained().then(() => {
        this.writeHold?.();
        this.writeHold = undefined;
      });
    }
    return ok;
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.stream.uncork();
  };

  /** Resolves when the write buffer has drained (or the channel closed). */
  drained(): Promise<void> {
    if (this.done || !this.stream.writableNeedDrain) return Promise.resolve();
    this.drain ??= new Promise<void>((resolve) => {
      const settle = (): void => {
        this.stream.off('drain', settle);
        this.stream.off('close', settle);
        this.drain = undefined;
        resolve();
      };
      this.stream.on('drain', settle);
      this.stream.on('close', settle);
    });
    return this.drain;
  }

  /** Pauses reading until every returned release function has been called. */
  holdReads(): () => void {
    let held = true;
    if (this.holds++ === 0) this.stream.pause();
    return () => {
      if (!held) return;
      held = false;
      if (--this.holds === 0 && !this.done) this.stream.resume();
    };
  }

  /** Flushes what is queued, then closes; later sends are dropped. */
  end(): void {
    if (this.done || this.ending) return;
    this.ending = true;
    this.stream.end(() => this.close());
  }

  /** Destroys the transport; the handler's `closed` runs synchronously, once. */
  close(err?: Error): void {
    if (this.done) return;
    this.done = true;
    this.stream.destroy();
    this.handler.closed(err);
  }
}
