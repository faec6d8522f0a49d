// The node's own tools, kata-runtime and kata-monitor, read from the bundler's account of
// their builds (in memory; dist/ is not touched): talking to a shim's management socket
// must not pull in the sandbox, the agent client or the generated protobuf code.
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { buildSingle } from '../../scripts/bundle.mjs';

const HEAVY = [/^src\/gen\//, /^src\/sandbox\/sandbox\.ts$/, /^src\/agent\/agent-client\.ts$/, /node_modules\/protobufjs\//];

describe('the node tools bundles', () => {
  it.each(['kata-runtime', 'kata-monitor'])('%s loads no sandbox, agent client or protobuf code', async (name) => {
    const { metafile } = (await buildSingle(name, { write: false })) as { metafile: Metafile };
    expect(Object.keys(metafile.inputs).filter((i) => HEAVY.some((re) => re.test(i)))).toEqual([]);
  }, 60_000);
});
