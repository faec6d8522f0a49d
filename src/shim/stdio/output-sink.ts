// Where a process's output goes on the host. A sink never rejects: when its
// destination breaks it logs once and discards, so the copy keeps draining the
// agent and the guest process never blocks on a full pipe.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import type { Logger } from '../../log/logger.js';
import { toRuntimeError } from '../../errors/index.js';

export interface OutputSink {
  /** Resolves once the chunk reached the destination (or was dropped): this is the backpressure. */
  write(chunk: Uint8Array): Promise<void>;
  /** Resolves once everything written so far reached the kernel and the sink is released. */
  end(): Promise<void>;
  /** Releases at once, dropping what is still queued. */
  destroy(): Promise<void>;
}

/** stdout/stderr the caller did not ask for: drained and dropped. */
export const discardSink: OutputSink = {
  write: async () => undefined,
  end: async () => undefined,
  destroy: async () => undefined,
};

export class FifoSink implements OutputSink {
  readonly #socket: Socket;
  readonly #closed: Promise<void>;

  constructor(socket: Socket, what: string, log: Logger) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    // The socket destroys itself after an error; later writes see `destroyed` and drop.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') log.warn(`${what}: reader went away, discarding the rest of the output`);
      else log.warn({ err: err.message }, `${what}: write failed, discarding the rest of the output`);
    });
  }

  write(chunk: Uint8Array): Promise<void> {
    const s = this.#socket;
    if (s.destroyed || s.writableEnded) return Promise.resolve();
    // Resolving only once the kernel has the bytes makes "the copy finished" mean
    // "the bytes are in the FIFO", which the exit event relies on. An error has
    // already been logged by the 'error' listener.
    return new Promise((resolve) => s.write(chunk, () => resolve()));
  }

  end(): Promise<void> {
    const s = this.#socket;
    // 'finish' = every queued write was accepted by the kernel; closing the fd then
    // lets containerd's reader see EOF.
    if (!s.destroyed && !s.writableEnded) s.end(() => s.destroy());
    return this.#closed;
  }

  destroy(): Promise<void> {
    this.#socket.destroy();
    return this.#closed;
  }
}

/** One appended file shared by stdout and stderr (file:// URIs); closed with its last user. */
export class AppendFile {
  #users = 0;
  #broken = false;
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  static async open(path: string, log: Logger): Promise<AppendFile> {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    return new AppendFile(await open(path, 'a', 0o640), path, log);
  }

  /** A sink for one stream; the file closes when every sink ended or was destroyed. */
  sink(): OutputSink {
    this.#users++;
    let released = false;
    const release = (): Promise<void> => {
      if (!released) {
        released = true;
        if (--this.#users === 0) this.#closing = this.handle.close().catch(() => undefined);
      }
      return this.#closing ?? Promise.resolve();
    };
    return { write: (chunk) => (released ? Promise.resolve() : this.#write(chunk)), end: release, destroy: release };
  }

  async #write(chunk: Uint8Array): Promise<void> {
    if (this.#broken) return;
    try {
      // O_APPEND writes to a regular file rarely come back short, but they may.
      for (let off = 0; off < chunk.length; ) {
        const { bytesWritten } = await this.handle.write(chunk, off, chunk.length - off);
        off += bytesWritten;
      }
    } catch (err) {
      this.#broken = true;
      this.log.warn({ err: toRuntimeError(err).message }, `output file ${this.path}: write failed, discarding the rest`);
    }
  }
}
