// QMP (QEMU Machine Protocol) client: JSON objects over a unix socket. Commands carry
// an id so replies are matched even when events are interleaved with them.
import { connect, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { Code, RuntimeError } from '../../errors/index.js';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** A command QEMU refused: `cls` is QMP's error class (GenericError, DeviceNotFound...). */
export class QmpError extends RuntimeError {
  constructor(
    readonly command: string,
    readonly cls: string,
    desc: string,
  ) {
    super(Code.INTERNAL, `qmp ${command}: ${desc}`);
  }
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

export interface QmpConnectOptions {
  /** Bound for the greeting and capabilities negotiation. */
  timeoutMs?: number;
}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buffered = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private greeting: ((v: unknown) => void) | undefined;
  private closedErr: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(private readonly sock: Socket) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    this.closed = new Promise((resolve) => {
      sock.on('close', () => {
        this.closedErr ??= new RuntimeError(Code.UNAVAILABLE, 'qmp: connection closed');
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(this.closedErr);
        }
        this.pending.clear();
        this.emit('close');
        resolve();
      });
    });
    sock.on('error', (err) => {
      this.closedErr = new RuntimeError(Code.UNAVAILABLE, `qmp: ${err.message}`, { cause: err });
    });
  }

  /** Connects, waits for QEMU's greeting and leaves capabilities-negotiation mode. */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', (err) => reject(new RuntimeError(Code.UNAVAILABLE, `qmp: connect ${path}: ${err.message}`)));
    });
    const client = new QmpClient(sock);
    try {
      await withTimeout(new Promise((resolve) => (client.greeting = resolve)), timeoutMs, `qmp: no greeting on ${path}`);
      await client.execute('qmp_capabilities', undefined, { timeoutMs });
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closedErr || this.sock.destroyed) {
      return Promise.reject(this.closedErr ?? new RuntimeError(Code.UNAVAILABLE, 'qmp: connection closed'));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { command, resolve: resolve as (v: unknown) => void, reject };
      if (opts.timeoutMs) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RuntimeError(Code.DEADLINE_EXCEEDED, `qmp ${command}: no reply within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      }
      this.pending.set(id, p);
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** Resolves with the first event named `name` (matching `match`) seen after this call. */
  waitEvent(name: string, timeoutMs: number, match: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return withTimeout(
      new Promise<QmpEvent>((resolve, reject) => {
        const onEvent = (e: QmpEvent): void => {
          if (e.event === name && match(e)) {
            this.off('event', onEvent);
            this.off('close', onClose);
            resolve(e);
          }
        };
        const onClose = (): void => {
          this.off('event', onEvent);
          reject(new RuntimeError(Code.UNAVAILABLE, `qmp: closed while waiting for ${name}`));
        };
        this.on('event', onEvent);
        this.once('close', onClose);
      }),
      timeoutMs,
      `qmp: no ${name} event within ${timeoutMs} ms`,
    );
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only sends JSON; anything else is noise we cannot attribute to a command.
    }
    if ('QMP' in msg) {
      this.greeting?.(msg);
      this.greeting = undefined;
    } else if ('event' in msg) {
      this.emit('event', msg as unknown as QmpEvent);
    } else if (typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      const error = msg.error as { class?: string; desc?: string } | undefined;
      if (error) p.reject(new QmpError(p.command, error.class ?? 'GenericError', error.desc ?? 'unknown error'));
      else p.resolve(msg.return);
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RuntimeError(Code.DEADLINE_EXCEEDED, message)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
