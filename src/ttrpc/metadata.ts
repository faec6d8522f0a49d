// Call metadata: lower-cased keys, each with one or more values (Go ttrpc `MD`).
// containerd sends its namespace as `containerd-namespace-ttrpc`.

export interface KeyValue {
  key?: string | null;
  value?: string | null;
}

export type MetadataInit = Metadata | Readonly<Record<string, string | readonly string[]>>;

export class Metadata implements Iterable<[string, readonly string[]]> {
  private readonly map = new Map<string, string[]>();

  static from(init: MetadataInit | undefined): Metadata {
    if (init instanceof Metadata) return init;
    const md = new Metadata();
    if (init !== undefined) for (const [key, value] of Object.entries(init)) md.set(key, value);
    return md;
  }

  static fromKeyValues(pairs: readonly KeyValue[]): Metadata {
    const md = new Metadata();
    for (const kv of pairs) md.append(kv.key ?? '', kv.value ?? '');
    return md;
  }

  get size(): number {
    return this.map.size;
  }

  /** All values of `key`, in wire order; empty when absent. */
  get(key: string): readonly string[] {
    return this.map.get(key.toLowerCase()) ?? [];
  }

  first(key: string): string | undefined {
    return this.map.get(key.toLowerCase())?.[0];
  }

  has(key: string): boolean {
    return this.map.has(key.toLowerCase());
  }

  set(key: string, value: string | readonly string[]): this {
    const values = typeof value === 'string' ? [value] : [...value];
    if (values.length === 0) this.map.delete(key.toLowerCase());
    else this.map.set(key.toLowerCase(), values);
    return this;
  }

  append(key: string, value: string): this {
    const k = key.toLowerCase();
    const values = this.map.get(k);
    if (values === undefined) this.map.set(k, [value]);
    else values.push(value);
    return this;
  }

  delete(key: string): boolean {
    return this.map.delete(key.toLowerCase());
  }

  [Symbol.iterator](): IterableIterator<[string, readonly string[]]> {
    return this.map.entries();
  }

  /** One KeyValue per value, as the Request envelope carries them. */
  toKeyValues(): { key: string; value: string }[] {
    const out: { key: string; value: string }[] = [];
    for (const [key, values] of this.map) for (const value of values) out.push({ key, value });
    return out;
  }

  toRecord(): Record<string, string[]> {
    return Object.fromEntries([...this.map].map(([k, v]) => [k, [...v]]));
  }
}
