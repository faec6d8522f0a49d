// Structured JSON-lines logging, one line per call, in pino's line format (what containerd
// and log tooling already read from Kata-like shims): {"level":"info","time":ISO,"pid":N,
// ...base, ...child bindings, ...fields, "msg":"..."}, errors under `err` as pino's
// standard serializer writes them. Our own small implementation: pino and its stream
// helpers cost every shim daemon ~2 MB of memory for features it does not use
// (docs/performance.md). The caller picks the destination: the shim daemon writes to
// containerd's `log` FIFO, the CLI to stderr or a file, tests to memory.
import { closeSync, openSync, writeSync } from 'node:fs';

export type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LevelOrSilent = Level | 'silent';

const VALUES: Readonly<Record<LevelOrSilent, number>> = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10, silent: Infinity };

export interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/** What the code logs through; pino's own loggers (used by some tests) fit it too. */
export interface Logger {
  /** The minimum level; settable. A child without a level of its own follows its parent. */
  level: string;
  isLevelEnabled(level: string): boolean;
  /** A logger adding `bindings` to every line; `options.level` gives it a level of its own. */
  child(bindings: Record<string, unknown>, options?: { level?: string }): Logger;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
}

/** Where lines go: each write gets one JSON line ending in "\n". */
export interface DestinationStream {
  write(line: string): void;
}

export interface LoggerOptions {
  /** Minimum level; `debug` when the shim runs with -debug or enable_debug is set. */
  level?: LevelOrSilent;
  /** Where JSON lines go; defaults to stderr (fd 2), written synchronously. A string is a file, appended to. */
  destination?: DestinationStream | number | string;
  /** Static fields on every line, e.g. { name: 'containerd-shim-kata-v2' }. */
  base?: Record<string, unknown>;
}

function levelValue(level: string): number {
  const v = VALUES[level as LevelOrSilent];
  if (v === undefined) throw new Error(`unknown log level "${level}"`);
  return v;
}

/**
 * Made on first use: the guest agent's V8 startup snapshot is built where SharedArrayBuffer
 * does not exist (node --build-snapshot), and this module is in it.
 */
let sleepCell: Int32Array | undefined;
/** Blocks this thread for `ms` without spinning (for writers that must stay synchronous). */
export const sleepSync = (ms: number): void => void Atomics.wait((sleepCell ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, ms);

/** How long a write that the pipe refused (EAGAIN) waits before it is tried again. */
const EAGAIN_RETRY_MS = 1;

/** Synchronous writes to an fd, or to a file opened once for appending. */
function fdDestination(dest: number | string): DestinationStream {
  const fd = typeof dest === 'number' ? dest : openSync(dest, 'a');
  if (typeof dest === 'string') process.once('exit', () => closeSync(fd));
  return {
    write(line) {
      const buf = Buffer.from(line);
      for (let off = 0; off < buf.length; ) {
        try {
          off += writeSync(fd, buf, off);
        } catch (err) {
          // A full non-blocking pipe: wait for its reader instead of spinning on the CPU.
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
            sleepSync(EAGAIN_RETRY_MS);
            continue;
          }
          return; // a log line is never worth crashing for
        }
      }
    },
  };
}

const causedBy = (err: Error, pick: (e: Error) => string | undefined, sep: string): string => {
  let text = pick(err) ?? '';
  const seen = new Set<unknown>([err]);
  for (let c = err.cause; c instanceof Error && !seen.has(c); c = c.cause) {
    seen.add(c);
    text += `${sep}${pick(c) ?? ''}`;
  }
  return text;
};

/** pino's standard `err` serializer: type, message and stack with their causes, own fields. */
function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor?.name ?? 'Error', message: causedBy(err, (e) => e.message, ': '), stack: causedBy(err, (e) => e.stack, '\ncaused by: ') };
  for (const [k, v] of Object.entries(err)) if (!(k in out) && k !== 'cause') out[k] = v;
  return out;
}

/** JSON that never throws: errors serialized, circular references and bigints made printable. */
function stringify(record: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return serializeError(value);
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  });
}

class JsonLogger implements Logger {
  #own: number | undefined;
  readonly fatal = this.#at('fatal');
  readonly error = this.#at('error');
  readonly warn = this.#at('warn');
  readonly info = this.#at('info');
  readonly debug = this.#at('debug');
  readonly trace = this.#at('trace');

  constructor(
    private readonly out: DestinationStream,
    /** `"pid":1,"name":"x",...`: base fields and child bindings, serialized once. */
    private readonly fields: string,
    private readonly parent: JsonLogger | undefined,
    level: LevelOrSilent | undefined,
  ) {
    this.#own = level === undefined ? undefined : levelValue(level);
  }

  get #value(): number {
    return this.#own ?? this.parent!.#value;
  }

  get level(): string {
    const v = this.#value;
    return (Object.keys(VALUES) as LevelOrSilent[]).find((l) => VALUES[l] === v)!;
  }

  set level(level: string) {
    this.#own = levelValue(level);
  }

  isLevelEnabled(level: string): boolean {
    return levelValue(level) >= this.#value;
  }

  child(bindings: Record<string, unknown>, options?: { level?: string }): Logger {
    const more = stringify(bindings).slice(1, -1);
    return new JsonLogger(this.out, more ? `${this.fields},${more}` : this.fields, this, options?.level as LevelOrSilent | undefined);
  }

  #at(level: Level): LogFn {
    const value = VALUES[level];
    return ((first: object | string, msg?: string) => {
      if (value < this.#value) return;
      let fields = '';
      let text = msg;
      if (typeof first === 'string') text = first;
      else if (first instanceof Error) {
        fields = `"err":${stringify(serializeError(first))}`;
        text ??= first.message;
      } else fields = stringify(first as Record<string, unknown>).slice(1, -1);
      const tail = [fields, text === undefined ? '' : `"msg":${JSON.stringify(text)}`].filter(Boolean).join(',');
      this.out.write(`{"level":"${level}","time":"${new Date().toISOString()}",${this.fields}${tail ? `,${tail}` : ''}}\n`);
    }) as LogFn;
  }
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination;
  const out = dest === undefined || typeof dest === 'number' || typeof dest === 'string' ? fdDestination(dest ?? 2) : dest;
  const base = stringify({ pid: process.pid, ...opts.base }).slice(1, -1);
  return new JsonLogger(out, base, undefined, opts.level ?? 'info');
}

/** Ids carried by child loggers: one per sandbox, container and exec. */
export interface LogContext {
  sandbox?: string;
  container?: string;
  exec?: string;
}

export function withContext(log: Logger, ctx: LogContext): Logger {
  return log.child(Object.fromEntries(Object.entries(ctx).filter(([, v]) => v !== undefined && v !== '')));
}
