// What each shim action loads, read from the bundler's own account of dist/ (its metafile,
// built in memory with scripts/bundle.mjs's settings; dist/ is not touched): `start`,
// `delete` and `-v` run for every container and must not load the daemon's code.
import { dirname, join } from 'node:path';
import type { Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { SHIM_ENTRY_FILE, buildShim } from '../../scripts/bundle.mjs';

let meta: Metafile;
const entry = `dist/${SHIM_ENTRY_FILE as string}`;

beforeAll(async () => {
  meta = ((await buildShim({ write: false })) as { metafile: Metafile }).metafile;
}, 60_000);

/** The outputs `output` loads, statically only or also through import(). */
function loaded(output: string, dynamic: boolean): Set<string> {
  const seen = new Set<string>();
  const visit = (o: string): void => {
    if (seen.has(o)) return;
    seen.add(o);
    for (const i of meta.outputs[o]!.imports) {
      // The entry's import()s are external to its build: ./chunks/<module>.mjs next to it.
      if (dynamic && i.kind === 'dynamic-import' && i.external && i.path.startsWith('./')) visit(join(dirname(o), i.path));
      else if (i.external) continue;
      else if (i.kind === 'import-statement' || (dynamic && i.kind === 'dynamic-import')) visit(i.path);
    }
  };
  visit(output);
  return seen;
}

const sourcesOf = (outputs: Set<string>): string[] => [...outputs].flatMap((o) => Object.keys(meta.outputs[o]!.inputs));
/** The one output whose own entry module is `source` (a chunk made for an import() of it). */
const chunkOf = (source: string): string => Object.entries(meta.outputs).find(([, o]) => o.entryPoint === source)![0];

/** The daemon's modules: none of them may be loaded before the action is known to be `serve`. */
const DAEMON_CODE = [/^src\/gen\//, /^src\/sandbox\//, /^src\/metrics\//, /^src\/procfs\//, /^src\/hypervisor\//, /^src\/agent\//, /^src\/ttrpc\//, /^src\/shim\/(serve|task-service)\.ts$/, /node_modules\/(pino|protobufjs|smol-toml|prom-client)\//];
const isDaemonCode = (source: string): boolean => DAEMON_CODE.some((re) => re.test(source));

describe('shim bundle: what each action loads', () => {
  it('the entry (start, -v and flag errors) loads no daemon code and no logger', () => {
    const sources = sourcesOf(loaded(entry, false));
    expect(sources).toContain('src/shim/start.ts');
    expect(sources.filter(isDaemonCode)).toEqual([]);
  });

  it('start reads containerd’s stdin (options Any, BootstrapParams) with hand-written decoders, and no configuration loader', () => {
    const sources = sourcesOf(loaded(entry, false));
    expect(sources).toEqual(expect.arrayContaining(['src/shim/start-request.ts', 'src/shim/bootstrap.ts', 'src/shim/runtime-options.ts', 'src/shim/proto-wire.ts']));
    expect(sources.filter((s) => s.startsWith('src/config/'))).toEqual(['src/config/annotation-keys.ts']);
  });

  it('start loads the ttrpc client and protobuf code only for a shim that already runs', () => {
    const reuse = sourcesOf(loaded(chunkOf('src/shim/shim-connect.ts'), false));
    expect(reuse).toContain('src/gen/proto.js');
  });

  it('delete loads its cleanup and logger, and no generated protobuf code', () => {
    const sources = sourcesOf(new Set(['src/shim/delete.ts', 'src/shim/cleanup.ts', 'src/log/logger.ts'].flatMap((s) => [...loaded(chunkOf(s), false)])));
    expect(sources).toContain('src/shim/cleanup.ts');
    expect(sources.filter((s) => s.startsWith('src/gen/'))).toEqual([]);
  });

  it('the daemon gets everything through import(), grpc-js never', () => {
    const all = sourcesOf(loaded(entry, true));
    expect(all).toEqual(expect.arrayContaining(['src/shim/serve.ts', 'src/shim/task-service.ts', 'src/gen/proto.js']));
    expect(all.filter((s) => s.includes('@grpc/'))).toEqual([]);
  });
});
