// Structured JSON-lines logging (pino). The caller picks the destination: the shim
// daemon writes to containerd's `log` FIFO, the CLI to stderr, tests to memory.
import { pino, type Logger, type DestinationStream, type Level } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** Minimum level; `debug` when the shim runs with -debug or enable_debug is set. */
  level?: Level | 'silent';
  /** Where JSON lines go; defaults to stderr (fd 2), written synchronously. */
  destination?: DestinationStream | number | string;
  /** Static fields on every line, e.g. { name: 'containerd-shim-kata-v2' }. */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dest = opts.destination;
  const stream =
    dest === undefined || typeof dest === 'number' || typeof dest === 'string'
      ? pino.destination({ dest: dest ?? 2, sync: true })
      : dest;
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
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
