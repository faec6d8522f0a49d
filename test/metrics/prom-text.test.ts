// The text format both ways, on what prom-client, Kata's Go shim and Rust agent write.
import { describe, expect, it } from 'vitest';
import { Registry, Histogram, Gauge } from 'prom-client';
import { formatPromText, gauge, mergeFamilies, parsePromText, PromTextError, withLabels } from '../../src/metrics/prom-text.js';

const KATA_AGENT = `# HELP kata_agent_scrape_count Metrics scrape count
# TYPE kata_agent_scrape_count counter
kata_agent_scrape_count 3
# HELP kata_guest_meminfo Statistics about memory usage in the system.
# TYPE kata_guest_meminfo gauge
kata_guest_meminfo{item="mem_total"} 2090217472
kata_guest_meminfo{item="mem_free"} 1.9e+09
# HELP kata_guest_netdev_stat Guest net devices statistics.
# TYPE kata_guest_netdev_stat gauge
kata_guest_netdev_stat{interface="eth0",item="recv_bytes"} 1234
`;

describe('parsePromText', () => {
  it('families with help, type and labelled samples', () => {
    const fams = parsePromText(KATA_AGENT);
    expect(fams.map((f) => [f.name, f.type, f.samples.length])).toEqual([
      ['kata_agent_scrape_count', 'counter', 1],
      ['kata_guest_meminfo', 'gauge', 2],
      ['kata_guest_netdev_stat', 'gauge', 1],
    ]);
    expect(fams[1]!.help).toBe('Statistics about memory usage in the system.');
    expect(fams[1]!.samples[1]).toEqual({ name: 'kata_guest_meminfo', labels: { item: 'mem_free' }, value: 1.9e9 });
    expect(fams[2]!.samples[0]!.labels).toEqual({ interface: 'eth0', item: 'recv_bytes' });
  });

  it('a histogram keeps its _bucket, _sum and _count series in one family', async () => {
    const reg = new Registry();
    const h = new Histogram({ name: 'kata_shim_rpc_durations_histogram_milliseconds', help: 'RPC latency distributions.', labelNames: ['action'], buckets: [1, 2, 4], registers: [reg] });
    h.observe({ action: 'create' }, 3);
    const fams = parsePromText(await reg.metrics());
    expect(fams).toHaveLength(1);
    expect(fams[0]!.type).toBe('histogram');
    expect(fams[0]!.samples.map((s) => s.name)).toEqual([
      ...Array(4).fill('kata_shim_rpc_durations_histogram_milliseconds_bucket'),
      'kata_shim_rpc_durations_histogram_milliseconds_sum',
      'kata_shim_rpc_durations_histogram_milliseconds_count',
    ]);
    expect(fams[0]!.samples[3]).toMatchObject({ labels: { le: '+Inf', action: 'create' }, value: 1 });
  });

  it('escapes, special values, timestamps, comments, untyped samples', () => {
    const fams = parsePromText('# a comment\n# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{path="C:\\\\x",q="say \\"hi\\"",n="a\\nb",} NaN 1700000000000\nm{} +Inf\nm -Inf\nloose 1\n');
    expect(fams[0]!.help).toBe('a \\ b\nc');
    expect(fams[0]!.samples[0]).toEqual({ name: 'm', labels: { path: 'C:\\x', q: 'say "hi"', n: 'a\nb' }, value: NaN, timestampMs: 1700000000000 });
    expect(fams[0]!.samples[1]!.value).toBe(Infinity);
    expect(fams[0]!.samples[2]!.value).toBe(-Infinity);
    expect(fams[1]).toMatchObject({ name: 'loose', type: 'untyped', help: '' });
  });

  it('a _count that belongs to no histogram is its own family', () => {
    expect(parsePromText('# TYPE x_count gauge\nx_count 1\n').map((f) => f.name)).toEqual(['x_count']);
    expect(parsePromText('# TYPE x gauge\nx 1\nx_count 2\n').map((f) => f.name)).toEqual(['x', 'x_count']);
  });

  it.each([
    ['m{a="1" 2', /line 1: expected ',' or '}'/],
    ['m{a=1} 2', /line 1: expected '"'/],
    ['m{a="1",a="2"} 3', /label a given twice/],
    ['m 1 2 3', /at most a timestamp/],
    ['m abc', /not a number/],
    ['\n\n# TYPE m nonsense\n', /line 3: unknown type/],
    ['9m 1', /bad metric name/],
    ['m 1\n# TYPE m gauge\n', /line 2: TYPE of m after its samples/],
  ])('refuses %j', (text, message) => {
    expect(() => parsePromText(text)).toThrow(PromTextError);
    expect(() => parsePromText(text)).toThrow(message);
  });
});

describe('formatPromText', () => {
  it('round-trips what it parses, escapes included', () => {
    const text = '# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm{q="say \\"hi\\"",n="a\\nb"} NaN 17\nm +Inf\n';
    expect(formatPromText(parsePromText(text))).toBe(text);
    expect(formatPromText(parsePromText(KATA_AGENT))).toBe(KATA_AGENT.replace('1.9e+09', '1900000000'));
  });

  it('builds gauges from labelled values', () => {
    expect(formatPromText([gauge('kata_guest_load', 'Guest system load.', [[{ item: 'load1' }, 0.5]])])).toBe(
      '# HELP kata_guest_load Guest system load.\n# TYPE kata_guest_load gauge\nkata_guest_load{item="load1"} 0.5\n',
    );
  });

  it('what prom-client writes is read back unchanged', async () => {
    const reg = new Registry();
    new Gauge({ name: 'kata_shim_threads', help: 'Kata containerd shim v2 process threads.', registers: [reg] }).set(7);
    const text = await reg.metrics();
    expect(formatPromText(parsePromText(text)).trim()).toBe(text.trim());
  });
});

describe('labels and merging', () => {
  it('withLabels adds to every sample and overrides a label of the same name', () => {
    const [f] = withLabels(parsePromText('m{item="a",sandbox_id="spoof"} 1\nm 2\n'), { sandbox_id: 'sb1', cri_name: 'web' });
    expect(f!.samples.map((s) => s.labels)).toEqual([
      { item: 'a', sandbox_id: 'sb1', cri_name: 'web' },
      { sandbox_id: 'sb1', cri_name: 'web' },
    ]);
  });

  it('mergeFamilies joins same-named families from several sources, sorted by name', () => {
    const a = withLabels(parsePromText('# HELP z Z.\n# TYPE z gauge\nz 1\n# TYPE a gauge\na 1\n'), { sandbox_id: 'a' });
    const b = withLabels(parsePromText('# HELP z other help\n# TYPE z gauge\nz 2\n'), { sandbox_id: 'b' });
    const merged = mergeFamilies([a, b]);
    expect(merged.map((f) => f.name)).toEqual(['a', 'z']);
    expect(merged[1]!.help).toBe('Z.');
    expect(merged[1]!.samples.map((s) => [s.labels.sandbox_id, s.value])).toEqual([['a', 1], ['b', 2]]);
    // The inputs are not changed.
    expect(a[0]!.samples).toHaveLength(1);
  });
});
