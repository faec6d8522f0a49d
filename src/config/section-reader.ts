// Typed reads of one parsed TOML table. Every read names the file, section, key, the
// value and what was expected when it fails; keys nobody read become warnings, since
// Kata ignores unknown keys rather than refusing the file.
import type { TomlTable, TomlValue } from 'smol-toml';
import { badValue, ConfigError, showValue } from './config-error.js';

const UINT32_MAX = 0xffff_ffff;

export interface UintOptions {
  /** Appended to "an integer number of", e.g. "MiB" or "seconds". */
  readonly unit?: string;
  readonly max?: number;
}

export class SectionReader {
  private readonly read = new Set<string>();

  constructor(
    readonly file: string,
    readonly section: string,
    private readonly table: TomlTable,
    private readonly warnings: string[],
  ) {}

  has(key: string): boolean {
    return Object.hasOwn(this.table, key);
  }

  fail(key: string, value: unknown, expected: string): ConfigError {
    return badValue(this.file, this.section, key, value, expected);
  }

  warn(message: string): void {
    this.warnings.push(`${this.file}: [${this.section}] ${message}`);
  }

  /** The raw value, marking the key as known; undefined when absent. */
  raw(key: string): TomlValue | undefined {
    this.read.add(key);
    return this.has(key) ? this.table[key] : undefined;
  }

  string(key: string, fallback: string): string {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') throw this.fail(key, v, 'a string');
    return v;
  }

  /** An absolute path, or "" when `allowEmpty`; Kata resolves the path, we only require it absolute. */
  path(key: string, fallback: string, allowEmpty: boolean): string {
    const v = this.string(key, fallback);
    if (v === '' && allowEmpty) return v;
    if (!v.startsWith('/')) throw this.fail(key, v, allowEmpty ? 'an absolute path or ""' : 'an absolute path');
    return v;
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    const v = this.string(key, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      throw this.fail(key, v, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return v as T;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw this.fail(key, v, 'true or false');
    return v;
  }

  /** A non-negative TOML integer (Kata's uint32/uint64 fields reject floats and negatives). */
  uint(key: string, fallback: number, opts: UintOptions = {}): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const what = opts.unit ? `an integer number of ${opts.unit}` : 'an integer';
    if (typeof v !== 'bigint') throw this.fail(key, v, what);
    const max = opts.max ?? UINT32_MAX;
    if (v < 0n) throw this.fail(key, v, `a non-negative ${what.replace(/^an? /, '')}`);
    if (v > BigInt(max)) throw this.fail(key, v, `${what} no larger than ${max}`);
    return Number(v);
  }

  /** An integer or a float (Kata 3.x reads default_vcpus as float32). */
  number(key: string, fallback: number, expected: string): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v === 'bigint') return Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.fail(key, v, expected);
    return v;
  }

  stringArray(key: string, fallback: readonly string[]): readonly string[] {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (!Array.isArray(v) || !v.every((e): e is string => typeof e === 'string')) {
      throw this.fail(key, v, 'an array of strings');
    }
    return v;
  }

  /** Keys present in the table that no read asked for. */
  unreadKeys(): string[] {
    return Object.keys(this.table).filter((k) => !this.read.has(k));
  }

  /**
   * Warns about keys nobody read: Kata keys this runtime does not implement (only when
   * set to something, so Kata's stock file stays quiet about its zero values), and
   * keys Kata does not know at all.
   */
  warnUnread(kataOnlyKeys: ReadonlySet<string>): void {
    const ignored: string[] = [];
    for (const key of this.unreadKeys()) {
      if (kataOnlyKeys.has(key)) {
        if (isSet(this.table[key])) ignored.push(key);
      } else {
        this.warn(`${key}: unknown key, ignored`);
      }
    }
    if (ignored.length > 0) this.warn(`${ignored.join(', ')}: Kata keys not implemented by this runtime, ignored`);
  }
}

function isSet(v: TomlValue | undefined): boolean {
  if (v === undefined || v === false || v === '' || v === 0 || v === 0n) return false;
  return !(Array.isArray(v) && v.length === 0);
}

/** A sub-table, or an error naming what was found instead. `name` is its dotted TOML name. */
export function asTable(file: string, name: string, value: TomlValue | undefined): TomlTable | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) {
    throw new ConfigError(`${file}: ${name} = ${showValue(value)}: expected a table ([${name}])`, { file, key: name });
  }
  return value as TomlTable;
}
