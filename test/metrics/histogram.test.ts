// LabelledHistogram against prom-client's Histogram (what the shim used before): the same
// observations give the same samples, once both texts are parsed.
import { describe, expect, it } from 'vitest';
import { Histogram, Registry, exponentialBuckets as promBuckets } from 'prom-client';
import { exponentialBuckets, LabelledHistogram } from '../../src/metrics/histogram.js';
import { formatPromText, parsePromText, type Sample } from '../../src/metrics/prom-text.js';

const NAME = 'kata_shim_rpc_durations_histogram_milliseconds';
const HELP = 'RPC latency distributions.';
/** Bounds on the edges (le is inclusive), between them, above them all, fractions. */
const OBSERVATIONS: ReadonlyArray<readonly [string, number]> = [
  ['create', 700], ['create', 1], ['resize_pty', 3], ['resize_pty', 4], ['resize_pty', 0.25], ['wait', 512], ['wait', 513], ['wait', 2e6],
];

/** Samples by name and labels, label order aside. */
const keyed = (samples: readonly Sample[]): Map<string, number> =>
  new Map(samples.map((s) => [`${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`, s.value]));

describe('LabelledHistogram', () => {
  it("has Kata's exponential buckets, as prometheus.ExponentialBuckets and prom-client make them", () => {
    expect(exponentialBuckets(1, 2, 10)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    expect(exponentialBuckets(0.5, 3, 4)).toEqual(promBuckets(0.5, 3, 4));
  });

  it('writes what prom-client writes for the same observations', async () => {
    const buckets = exponentialBuckets(1, 2, 10);
    const ours = new LabelledHistogram(NAME, HELP, 'action', buckets);
    const registry = new Registry();
    const theirs = new Histogram({ name: NAME, help: HELP, labelNames: ['action'], buckets, registers: [registry] });
    for (const [action, v] of OBSERVATIONS) {
      ours.observe(action, v);
      theirs.observe({ action }, v);
    }
    const [mine] = parsePromText(formatPromText([ours.family()]));
    const [reference] = parsePromText(await registry.metrics());
    expect(mine).toMatchObject({ name: NAME, help: HELP, type: 'histogram' });
    expect(keyed(mine!.samples)).toEqual(keyed(reference!.samples));
    // 3 label values × (10 buckets + +Inf + sum + count)
    expect(mine!.samples).toHaveLength(3 * 13);
  });

  it('counts cumulatively, a bound in its own bucket, and everything in +Inf, _count and _sum', () => {
    const h = new LabelledHistogram(NAME, HELP, 'action', [1, 10]);
    for (const v of [1, 5, 11]) h.observe('x', v);
    const values = Object.fromEntries(h.family().samples.map((s) => [`${s.name.slice(NAME.length)}${s.labels.le ?? ''}`, s.value]));
    expect(values).toEqual({ _bucket1: 1, _bucket10: 2, '_bucket+Inf': 3, _sum: 17, _count: 3 });
  });

  it('is an empty family, with its help and type, before anything is observed', () => {
    expect(parsePromText(formatPromText([new LabelledHistogram(NAME, HELP, 'action', [1]).family()]))).toEqual([
      { name: NAME, help: HELP, type: 'histogram', samples: [] },
    ]);
  });
});
