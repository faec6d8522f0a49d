// Histograms written as Prometheus' client libraries write them: cumulative `_bucket`
// samples with `le` (then `+Inf`), `_sum` and `_count`, per label value or, without a
// label, once. The shim's RPC latencies and kata-monitor's scrape times need no more, and
// a client library costs each shim ~1 MB.
import { formatValue, type MetricFamily, type Sample } from './prom-text.js';

/** `count` upper bounds from `start`, each `factor` times the one before (prometheus.ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

class Series {
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  /** `buckets`: upper bounds, ascending. */
  constructor(private readonly buckets: readonly number[]) {
    this.#counts = new Array<number>(buckets.length + 1).fill(0);
  }

  observe(value: number): void {
    const i = this.buckets.findIndex((le) => value <= le);
    this.#counts[i === -1 ? this.buckets.length : i]!++;
    this.#sum += value;
    this.#count++;
  }

  samples(name: string, labels: Readonly<Record<string, string>>): Sample[] {
    const out: Sample[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += this.#counts[i]!;
      out.push({ name: `${name}_bucket`, labels: { ...labels, le: formatValue(le) }, value: cumulative });
    });
    out.push({ name: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.#count });
    out.push({ name: `${name}_sum`, labels, value: this.#sum });
    out.push({ name: `${name}_count`, labels, value: this.#count });
    return out;
  }
}

/** A histogram with one label: a series per label value, from its first observation. */
export class LabelledHistogram {
  readonly #series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly label: string,
    /** Upper bounds, ascending. */
    readonly buckets: readonly number[],
  ) {}

  observe(labelValue: string, value: number): void {
    let s = this.#series.get(labelValue);
    if (!s) this.#series.set(labelValue, (s = new Series(this.buckets)));
    s.observe(value);
  }

  family(): MetricFamily {
    const samples = [...this.#series].flatMap(([labelValue, s]) => s.samples(this.name, { [this.label]: labelValue }));
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}

/** A histogram without labels: its one series is written, all zero, before any observation. */
export class Histogram {
  readonly #series: Series;

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending. */
    readonly buckets: readonly number[],
  ) {
    this.#series = new Series(buckets);
  }

  observe(value: number): void {
    this.#series.observe(value);
  }

  family(): MetricFamily {
    return { name: this.name, help: this.help, type: 'histogram', samples: this.#series.samples(this.name, {}) };
  }
}
