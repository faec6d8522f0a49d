// The Prometheus text exposition format (version 0.0.4), both ways, without a client
// library: the guest agent builds its GetMetrics answer with it, the shim parses that
// answer to re-expose it, and kata-monitor parses every shim's /metrics to label and
// merge them. Pure.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: a histogram family `f` has samples `f_bucket`, `f_sum`, `f_count`. */
  readonly name: string;
  /** In the order written. */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs?: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

export const PROM_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class PromTextError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'PromTextError';
  }
}

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
  }
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`not a number: "${text}"`);
  return v;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const unescapeHelp = (s: string): string => s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** `{a="x",b="y\"z"}` from position `i` (at '{'); returns the labels and the position after '}'. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const skipSpaces = (): void => {
    while (line[i] === ' ' || line[i] === '\t') i++;
  };
  for (;;) {
    skipSpaces();
    if (line[i] === '}') return { labels, end: i + 1 };
    const nameStart = i;
    while (i < line.length && /[a-zA-Z0-9_]/.test(line[i] as string)) i++;
    const name = line.slice(nameStart, i);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name at column ${nameStart + 1}`);
    skipSpaces();
    if (line[i] !== '=') throw new Error(`expected '=' after label ${name}`);
    i++;
    skipSpaces();
    if (line[i] !== '"') throw new Error(`expected '"' for the value of label ${name}`);
    i++;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`unterminated value of label ${name}`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const e = line[i++];
        value += e === 'n' ? '\n' : e === '"' ? '"' : e === '\\' ? '\\' : `\\${e ?? ''}`;
      } else value += c;
    }
    if (Object.hasOwn(labels, name)) throw new Error(`label ${name} given twice`);
    labels[name] = value;
    skipSpaces();
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected ',' or '}' after label ${name}`);
  }
}

function parseSample(line: string): Sample {
  let i = 0;
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i] as string)) i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new Error('bad metric name');
  let labels: Record<string, string> = {};
  while (line[i] === ' ' || line[i] === '\t') i++;
  if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
  const [value, timestamp, ...extra] = line.slice(i).trim().split(/[ \t]+/);
  if (value === undefined || extra.length) throw new Error(`expected a value and at most a timestamp after ${name}`);
  return { name, labels, value: parseValue(value), ...(timestamp !== undefined ? { timestampMs: Number(timestamp) } : {}) };
}

interface MutableFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** The family a sample belongs to: its own name, or a histogram's/summary's suffixed series. */
function familyOf(families: Map<string, MutableFamily>, name: string): MutableFamily | undefined {
  const own = families.get(name);
  if (own) return own;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m && families.get(m[1] as string);
  if (!base) return undefined;
  if (base.type === 'histogram' || (base.type === 'summary' && m[2] !== 'bucket')) return base;
  return undefined;
}

/** Parses a whole exposition; throws PromTextError naming the line. */
export function parsePromText(text: string): MetricFamily[] {
  const families = new Map<string, MutableFamily>();
  const declare = (name: string, lineNo: number): MutableFamily => {
    if (!NAME.test(name)) throw new PromTextError(lineNo, `bad metric name "${name}"`);
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, help: '', type: 'untyped', samples: [] }));
    return f;
  };
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (!m) return; // a comment
      const f = declare(m[2] as string, lineNo);
      if (m[1] === 'HELP') f.help = unescapeHelp(m[3] ?? '');
      else {
        const type = (m[3] ?? '').trim();
        if (!TYPES.has(type)) throw new PromTextError(lineNo, `unknown type "${type}" for ${f.name}`);
        if (f.samples.length) throw new PromTextError(lineNo, `TYPE of ${f.name} after its samples`);
        f.type = type as MetricType;
      }
      return;
    }
    let sample: Sample;
    try {
      sample = parseSample(line);
    } catch (err) {
      throw new PromTextError(lineNo, (err as Error).message);
    }
    (familyOf(families, sample.name) ?? declare(sample.name, lineNo)).samples.push(sample);
  });
  return [...families.values()];
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

export function formatPromText(families: readonly MetricFamily[]): string {
  let out = '';
  for (const f of families) {
    if (f.help) out += `# HELP ${f.name} ${escapeHelp(f.help)}\n`;
    out += `# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      out += `${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}${s.timestampMs !== undefined ? ` ${s.timestampMs}` : ''}\n`;
    }
  }
  return out;
}

/** A gauge family from [labels, value] pairs. */
export function gauge(name: string, help: string, values: Iterable<readonly [Readonly<Record<string, string>>, number]>): MetricFamily {
  return { name, help, type: 'gauge', samples: [...values].map(([labels, value]) => ({ name, labels, value })) };
}

/** A counter family of one unlabelled sample. */
export function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'counter', samples: [{ name, labels: {}, value }] };
}

/** Every sample gets `extra`; where a sample already has one of these labels, `extra` wins. */
export function withLabels(families: readonly MetricFamily[], extra: Readonly<Record<string, string>>): MetricFamily[] {
  return families.map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, labels: { ...s.labels, ...extra } })) }));
}

/** One family per name, samples in the order given; the first HELP and TYPE seen win. Sorted by name. */
export function mergeFamilies(lists: Iterable<readonly MetricFamily[]>): MetricFamily[] {
  const byName = new Map<string, MutableFamily>();
  for (const list of lists) {
    for (const f of list) {
      const seen = byName.get(f.name);
      if (seen) seen.samples.push(...f.samples);
      else byName.set(f.name, { name: f.name, help: f.help, type: f.type, samples: [...f.samples] });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
