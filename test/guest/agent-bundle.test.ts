// The agent's bundle stays light: it is parsed at every guest boot, under TCG.
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { buildSingle } from '../../scripts/bundle.mjs';

describe('kata-agent bundle', () => {
  it('builds GetMetrics from plain strings: no metrics client library, none of the host shim', async () => {
    const meta = ((await buildSingle('kata-agent', { write: false })) as { metafile: Metafile }).metafile;
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('src/guest/metrics.ts');
    expect(inputs).toContain('src/metrics/prom-text.ts');
    expect(inputs.filter((i) => /node_modules\/(prom-client|tdigest|bintrees|@opentelemetry)\//.test(i))).toEqual([]);
    expect(inputs.filter((i) => /^src\/(shim|sandbox|monitor|hypervisor)\//.test(i))).toEqual([]);
  }, 60_000);
});
