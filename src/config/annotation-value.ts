// Parses one annotation's string value the way Kata's Go code does (strconv.ParseBool,
// ParseUint, ParseFloat, json.Unmarshal), failing with the annotation and value named.
import { invalidArgument, type RuntimeError } from '../errors/index.js';

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export class AnnotationValue {
  constructor(
    readonly key: string,
    readonly raw: string,
  ) {}

  fail(expected: string): RuntimeError {
    return invalidArgument(`annotation ${this.key} = ${JSON.stringify(this.raw)}: expected ${expected}`);
  }

  bool(): boolean {
    if (GO_TRUE.has(this.raw)) return true;
    if (GO_FALSE.has(this.raw)) return false;
    throw this.fail('a boolean ("true" or "false")');
  }

  uint(unit?: string): number {
    const what = unit ? `a non-negative integer number of ${unit}` : 'a non-negative integer';
    if (!/^[0-9]+$/.test(this.raw)) throw this.fail(what);
    const n = Number(this.raw);
    if (!Number.isSafeInteger(n)) throw this.fail(`${what} below 2^53`);
    return n;
  }

  /** Go's ParseFloat, minus the hex and inf/nan spellings nobody writes in an annotation. */
  nonNegativeFloat(what: string): number {
    if (!/^[+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(this.raw)) throw this.fail(what);
    const n = Number(this.raw);
    if (!Number.isFinite(n)) throw this.fail(what);
    return n;
  }

  absolutePath(): string {
    if (!this.raw.startsWith('/')) throw this.fail('an absolute path');
    return this.raw;
  }

  oneOf<T extends string>(allowed: readonly T[]): T {
    if (!(allowed as readonly string[]).includes(this.raw)) {
      throw this.fail(`one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return this.raw as T;
  }

  /** A JSON array of strings, as Kata reads virtio_fs_extra_args. */
  jsonStringArray(): string[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.raw);
    } catch {
      throw this.fail('a JSON array of strings');
    }
    if (!Array.isArray(parsed) || !parsed.every((e): e is string => typeof e === 'string')) {
      throw this.fail('a JSON array of strings');
    }
    return parsed;
  }
}
