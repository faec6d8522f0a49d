// A histogram with one label, written as Prometheus' client libraries write one: for each
// label value cumulative `_bucket` samples with `le` (then `+Inf`), `_sum` and `_count`.
// The shim's RPC latencies need no more, and a client library costs each shim ~1 MB.
import { formatValue, type MetricFamily, type Sample } from './prom-text.js';

/** `count` upper bounds from `start`, each `factor` times the one before (prometheus.ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

interface Series {
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  readonly counts: number[];
  sum: number;
  count: number;
}

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
    if (!s) this.#series.set(labelValue, (s = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    const i = this.buckets.findIndex((le) => value <= le);
    s.counts[i === -1 ? this.buckets.length : i]!++;
    s.sum += value;
    s.count++;
  }

  family(): MetricFamily {
    const samples: Sample[] = [];
    for (const [labelValue, s] of this.#series) {
      const labels = { [this.label]: labelValue };
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        samples.push({ name: `${this.name}_bucket`, labels: { ...labels, le: formatValue(le) }, value: cumulative });
      });
      samples.push({ name: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count });
      samples.push({ name: `${this.name}_sum`, labels, value: s.sum });
      samples.push({ name: `${this.name}_count`, labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}
