// A logger that keeps its JSON lines in memory, parsed, for tests that assert what is logged.
import type { Level } from '../../src/log/logger.js';
import { createLogger, type Logger } from '../../src/log/logger.js';

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export function memoryLogger(level: Level = 'info', base: Record<string, unknown> = {}): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger({ level, base, destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  return { log, lines };
}
