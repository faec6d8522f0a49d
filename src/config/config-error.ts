// Configuration problems in the project's error vocabulary, carrying where they are:
// the file, and for a bad value the section and key, so callers can point at it.
import { Code, RuntimeError } from '../errors/index.js';

export interface ConfigErrorLocation {
  /** The configuration file (or the list of candidates when none was found). */
  readonly file: string;
  readonly section?: string;
  readonly key?: string;
  /** 1-based position, for TOML syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

export class ConfigError extends RuntimeError {
  readonly file: string;
  readonly section: string | undefined;
  readonly key: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(message: string, where: ConfigErrorLocation, code: Code = Code.INVALID_ARGUMENT, cause?: unknown) {
    super(code, message, { cause });
    this.file = where.file;
    this.section = where.section;
    this.key = where.key;
    this.line = where.line;
    this.column = where.column;
  }
}

/** A TOML value as it was written, for messages: strings quoted, integers plain. */
export function showValue(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(showValue).join(', ')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const s = String(value);
    return s === '[object Object]' ? '{...}' : s;
  }
  return String(value);
}

/** `FILE: [section] key = value: expected EXPECTATION` */
export function badValue(file: string, section: string, key: string, value: unknown, expected: string): ConfigError {
  return new ConfigError(`${file}: [${section}] ${key} = ${showValue(value)}: expected ${expected}`, {
    file,
    section,
    key,
  });
}
