// The agent's end of a virtio-serial port (QEMU `virtserialport,name=agent.channel.0`).
// The port is opened once and kept open for the agent's lifetime: a guest that closes
// and reopens it can lose bytes the host sends meanwhile. The kernel reports "host not
// connected" as a 0-byte read (virtio_console), so EOF here means "this host session is
// over", not "the port is gone": the session's stream ends (ttrpc drops its calls), the
// agent keeps polling the same fd, and the next bytes start a new session.
// Node cannot poll a character device, so reads block in libuv's thread pool.
import { readFile, readdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { notFound } from '../errors/index.js';

const CHUNK = 64 * 1024;

let openPorts = 0;
/**
 * Whether a port read may be blocked in a pool thread. Node joins the pool's threads
 * when the process exits, so process.exit() would then hang for as long as the host
 * stays silent (see exitProcess in main.ts).
 */
export function hasBlockingReader(): boolean {
  return openPorts > 0;
}
/** Polling interval while no host is connected (reads return 0 at once then). */
const IDLE_POLL_MS = 20;

/** /dev/vportNpM of the port named `name`, from /sys/class/virtio-ports/<dev>/name (no udev links in the guest). */
export async function findVirtioPort(name: string, sysRoot = '/sys', devRoot = '/dev'): Promise<string | undefined> {
  const dir = join(sysRoot, 'class/virtio-ports');
  for (const dev of await readdir(dir).catch(() => [] as string[])) {
    const portName = await readFile(join(dir, dev, 'name'), 'utf8').catch(() => '');
    if (portName.trim() === name) return join(devRoot, dev);
  }
  return undefined;
}

/** The port as the session loop sees it; a FileHandle in the guest, a fake in tests. */
export interface PortIo {
  /** Bytes read; 0 when no host is connected. */
  read(buf: Buffer): Promise<number>;
  write(data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * Writes go one after the other, across sessions too: a write blocked while no host was
 * connected completes when the next one connects, and must not interleave with what the
 * new session writes (the debug console's ready line tells its output from such leftovers).
 */
export function fileHandlePort(fh: FileHandle): PortIo {
  let last: Promise<void> = Promise.resolve();
  const writeAll = async (data: Buffer): Promise<void> => {
    let off = 0;
    while (off < data.length) off += (await fh.write(data, off, data.length - off, null)).bytesWritten;
  };
  return {
    read: async (buf) => (await fh.read(buf, 0, buf.length, null)).bytesRead,
    write: (data) => {
      const done = last.then(() => writeAll(data));
      last = done.catch(() => undefined);
      return done;
    },
    close: () => fh.close(),
  };
}

/** One host session on the port: ends when the host disconnects. */
class SerialSession extends Duplex {
  #wanted: (() => void) | undefined;

  constructor(private readonly port: PortIo) {
    super({ allowHalfOpen: false });
  }

  override _read(): void {
    const wake = this.#wanted;
    this.#wanted = undefined;
    wake?.();
  }

  /** Resolves when the consumer wants more data. */
  wantMore(): Promise<void> {
    return new Promise((resolve) => (this.#wanted = resolve));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.port.write(chunk).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.port.write(Buffer.concat(chunks.map((c) => c.chunk))).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this._read(); // release a reader loop waiting on wantMore
    cb(err);
  }
}

export interface SerialChannel {
  close(): Promise<void>;
}

/** Serves host sessions on `port` until close(); `onSession` gets each session's stream. */
export function servePort(port: PortIo, onSession: (stream: Duplex) => void, log: Logger, idlePollMs = IDLE_POLL_MS): SerialChannel {
  let closed = false;
  let session: SerialSession | undefined;
  const buf = Buffer.allocUnsafe(CHUNK);

  const loop = async (): Promise<void> => {
    while (!closed) {
      let n: number;
      try {
        n = await port.read(buf);
      } catch (err) {
        if (closed) return;
        log.error({ err }, 'virtio-serial read failed; port unusable');
        session?.destroy(err as Error);
        return;
      }
      if (n === 0) {
        if (session) {
          log.info('host disconnected from virtio-serial');
          session.push(null);
          session = undefined;
        }
        await sleep(idlePollMs);
        continue;
      }
      if (!session || session.destroyed) {
        session = new SerialSession(port);
        log.info('host connected on virtio-serial');
        onSession(session);
      }
      if (!session.push(Buffer.from(buf.subarray(0, n)))) await session.wantMore();
    }
  };
  const done = loop();

  return {
    // A read blocked in the thread pool cannot be interrupted, so close() does not
    // wait for it (nor for the port, which waits for it): the process is ending.
    async close() {
      closed = true;
      session?.destroy();
      void done.finally(() => port.close()).catch(() => undefined);
    },
  };
}

/** Finds the port named `name`, opens it once and serves it. */
export async function serveSerialPort(name: string, onSession: (stream: Duplex) => void, log: Logger): Promise<SerialChannel> {
  const path = await findVirtioPort(name);
  if (!path) throw notFound(`virtio-serial port ${name} not found in /sys/class/virtio-ports`);
  const fh = await open(path, 'r+');
  openPorts++;
  log.info({ port: name, device: path }, 'listening on virtio-serial');
  return servePort(fileHandlePort(fh), onSession, log);
}
