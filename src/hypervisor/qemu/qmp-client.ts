// QMP (QEMU Machine Protocol) client: JSON objects over a unix socket. Commands carry
// an id so replies are matched even when events are interleaved with them.
import { withDeadline } from '../../async/deadline.js';
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
  timer: NodeJS.Timeout;
}

/** A command QEMU has not answered by then is reported, never awaited forever. */
export const DEFAULT_QMP_COMMAND_TIMEOUT_MS = 10_000;

export interface QmpConnectOptions {
  /** Bound for the greeting and capabilities negotiation. */
  timeoutMs?: number;
  /** Deadline of every command that does not set its own (DEFAULT_QMP_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
}

export interface QmpExecuteOptions {
  /** This command's deadline, instead of the client's default. */
  timeoutMs?: number;
}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buffered = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private greeting: ((v: unknown) => void) | undefined;
  /** Set once the socket failed or closed: every later command fails at once with it. */
  private closedWhy: string | undefined;
  readonly closed: Promise<void>;

  private constructor(
    private readonly sock: Socket,
    private readonly commandTimeoutMs: number,
  ) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    this.closed = new Promise((resolve) => {
      sock.on('close', () => {
        this.closedWhy ??= 'connection closed';
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new RuntimeError(Code.UNAVAILABLE, `qmp ${p.command}: no reply, ${this.closedWhy}`));
        }
        this.pending.clear();
        this.emit('close');
        resolve();
      });
    });
    sock.on('error', (err) => {
      this.closedWhy = `connection failed: ${err.message}`;
    });
  }

  /** Connects, waits for QEMU's greeting and leaves capabilities-negotiation mode. */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const commandTimeoutMs = checkedTimeout(opts.commandTimeoutMs ?? DEFAULT_QMP_COMMAND_TIMEOUT_MS, 'commandTimeoutMs');
    const sock = connect(path);
    await deadline(
      new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', (err) => reject(new RuntimeError(Code.UNAVAILABLE, `qmp: connect ${path}: ${err.message}`)));
      }),
      timeoutMs,
      `qmp: connect ${path}: not accepted within ${timeoutMs} ms`,
    ).catch((err: unknown) => {
      sock.destroy();
      throw err;
    });
    const client = new QmpClient(sock, commandTimeoutMs);
    try {
      const greeted = new Promise((resolve) => (client.greeting = resolve));
      const closed = client.closed.then(() => {
        throw new RuntimeError(Code.UNAVAILABLE, `qmp: ${path} closed before QEMU's greeting`);
      });
      await deadline(Promise.race([greeted, closed]), timeoutMs, `qmp: no greeting on ${path} within ${timeoutMs} ms`);
      await client.execute('qmp_capabilities', undefined, { timeoutMs });
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /**
   * Runs one command. It always has a deadline (the client's default unless `opts.timeoutMs`):
   * past it the command fails with DEADLINE_EXCEEDED naming it; QEMU may still carry it out,
   * and its late reply is dropped. A closing connection fails every pending command.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: QmpExecuteOptions = {}): Promise<T> {
    if (this.closedWhy !== undefined || this.sock.destroyed) {
      return Promise.reject(new RuntimeError(Code.UNAVAILABLE, `qmp ${command}: ${this.closedWhy ?? 'connection closed'}`));
    }
    let timeoutMs: number;
    try {
      timeoutMs = checkedTimeout(opts.timeoutMs ?? this.commandTimeoutMs, `timeoutMs of ${command}`);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RuntimeError(Code.DEADLINE_EXCEEDED, `qmp ${command}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** Resolves with the first event named `name` (matching `match`) seen after this call. */
  waitEvent(name: string, timeoutMs: number, match: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return deadline(
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

/** What drivers (hotplug) need of a QMP connection, so tests can stand in for QEMU. */
export type QmpCommands = Pick<QmpClient, 'execute' | 'waitEvent'>;

/** `p`, or DEADLINE_EXCEEDED with `message` once `ms` have passed. */
const deadline = <T>(p: Promise<T>, ms: number, message: string): Promise<T> =>
  withDeadline(p, ms, () => new RuntimeError(Code.DEADLINE_EXCEEDED, message));

/** A deadline must be a positive, finite number of milliseconds: "no deadline" is not allowed. */
function checkedTimeout(ms: number, what: string): number {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RuntimeError(Code.INVALID_ARGUMENT, `qmp: ${what} must be a positive number of milliseconds, not ${ms}`);
  }
  return ms;
}
