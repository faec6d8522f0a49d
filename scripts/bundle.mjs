// Bundles every executable entry in shim/*.ts into dist/*.mjs: `node scripts/bundle.mjs`.
// kata-agent and kata-runtime are one self-contained file each (the agent is copied alone
// into the guest image). The shim is split: containerd runs `start` and `delete` for every
// container, and parsing the daemon's 1 MB of code (most of it generated protobuf code)
// would dominate them, so dist/containerd-shim-kata-v2.cjs is a small entry, one CommonJS
// file (Node starts it without its ESM loader), and every module it imports lazily (the
// daemon, delete's cleanup: src/shim/main.ts) is an ESM chunk of its own in dist/chunks/.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const SHIM_ENTRY = 'containerd-shim-kata-v2';
/** The shim's entry file in dist/: CommonJS, which Node runs sooner than an ES module. */
export const SHIM_ENTRY_FILE = `${SHIM_ENTRY}.cjs`;
const CHUNKS = 'chunks';

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  banner: {
    // CommonJS dependencies bundled into ESM still call require() for built-ins.
    js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
};

/** A CommonJS build, which has no import.meta: its url is made from __filename, after `prelude`. */
const commonjs = (prelude = '') => ({
  format: 'cjs',
  define: { 'import.meta.url': '__import_meta_url' },
  banner: { js: `${prelude}const __import_meta_url = require('node:url').pathToFileURL(__filename).href;` },
});

/**
 * The shim's entry: everything `start`, `delete`'s flag handling and `-v` need, in one
 * CommonJS file. Each import() in it stays an import() of `./chunks/<module name>.mjs`;
 * the modules so imported are collected in `lazy` (their name to their source path).
 */
function buildShimEntry(lazy, write) {
  return build({
    ...common,
    ...commonjs("#!/usr/bin/env node\n'use strict';\n"),
    // Whitespace too: less text parses faster. Identifiers stay, for readable stack traces.
    minifyWhitespace: true,
    entryPoints: [join(root, 'shim', `${SHIM_ENTRY}.ts`)],
    outfile: join(dist, SHIM_ENTRY_FILE),
    metafile: true,
    write,
    plugins: [
      {
        name: 'lazy-chunks',
        setup(b) {
          b.onResolve({ filter: /^\./, namespace: 'file' }, async (args) => {
            if (args.kind !== 'dynamic-import' || !args.importer.startsWith(join(root, 'src'))) return undefined;
            const source = relative(root, join(args.resolveDir, args.path.replace(/\.js$/, '.ts')));
            const name = basename(source, '.ts');
            if (lazy.has(name) && lazy.get(name) !== source) return { errors: [{ text: `two lazily imported modules are both named ${name}` }] };
            lazy.set(name, source);
            return { path: `./${CHUNKS}/${name}.mjs`, external: true };
          });
        },
      },
    ],
  });
}

/** The modules the entry imports lazily, each an ES module of its own name in dist/chunks/, sharing hashed chunks. */
function buildShimChunks(lazy, write) {
  return build({
    ...common,
    // The daemon keeps its source for its whole life (V8 compiles lazily): less is better.
    minifyWhitespace: true,
    entryPoints: Object.fromEntries([...lazy].map(([name, source]) => [name, join(root, source)])),
    outdir: join(dist, CHUNKS),
    splitting: true,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    metafile: true,
    write,
  });
}

/**
 * The shim's two builds, entry first (it finds the lazy modules); `write: false` gives the
 * output files and one metafile of both without touching dist/ (test/shim/start-imports.test.ts).
 */
export async function buildShim({ write = true } = {}) {
  const lazy = new Map();
  const entry = await buildShimEntry(lazy, write);
  const chunks = await buildShimChunks(lazy, write);
  return {
    outputFiles: [...(entry.outputFiles ?? []), ...(chunks.outputFiles ?? [])],
    metafile: {
      inputs: { ...entry.metafile.inputs, ...chunks.metafile.inputs },
      outputs: { ...entry.metafile.outputs, ...chunks.metafile.outputs },
    },
  };
}

/** One self-contained executable (every entry but the shim); `write: false` gives the metafile alone. */
export function buildSingle(name, { write = true } = {}) {
  return build({ ...common, entryPoints: [join(root, 'shim', `${name}.ts`)], outfile: join(dist, `${name}.mjs`), metafile: true, write });
}

/** The guest agent's snapshot builder script (src/guest/snapshot-entry.ts), CommonJS as
 * node's --build-snapshot requires; scripts/guest/build.sh turns it into the snapshot. */
const AGENT_SNAPSHOT_SCRIPT = 'kata-agent.snapshot.cjs';

function buildAgentSnapshotScript() {
  return build({
    ...common,
    // The vsock addon is looked up next to the script, by import.meta.url.
    ...commonjs(),
    entryPoints: [join(root, 'src', 'guest', 'snapshot-entry.ts')],
    outfile: join(dist, AGENT_SNAPSHOT_SCRIPT),
    write: false,
  });
}

/**
 * Removes the chunks of earlier builds. A running daemon imported all of its chunks when it
 * started (nothing in it imports lazily later), so only a shim starting during the build
 * could miss one.
 */
function pruneChunks(metafile) {
  const current = new Set(Object.keys(metafile.outputs).map((f) => relative(dist, join(root, f))));
  const dir = join(dist, CHUNKS);
  for (const f of readdirSync(dir)) {
    if (!current.has(join(CHUNKS, f))) rmSync(join(dir, f), { force: true });
  }
  // The entry was an ES module until 2026-12: no symlink may keep starting that one.
  rmSync(join(dist, `${SHIM_ENTRY}.mjs`), { force: true });
}

/**
 * Writes each output by rename, and only when its bytes or mode changed: a shim starting
 * while a build runs (tests rebuild dist/ in their setup, several at once) reads a whole
 * file, old or new, never one being written, and runs one that is executable already.
 * `executable` is the output to get mode 0755; every other one gets 0644.
 */
function writeOutputs(result, executable) {
  for (const f of result.outputFiles) {
    const mode = f.path === executable ? 0o755 : 0o644;
    let same = false;
    try {
      same = (statSync(f.path).mode & 0o777) === mode && readFileSync(f.path).equals(Buffer.from(f.contents));
    } catch {
      // absent: written below
    }
    if (same) continue;
    mkdirSync(dirname(f.path), { recursive: true });
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    // chmod, not writeFileSync's mode, which the umask narrows; before the rename, so the
    // file is never in place without its mode.
    chmodSync(tmp, mode);
    renameSync(tmp, f.path);
  }
  return result;
}

async function bundleAll() {
  mkdirSync(dist, { recursive: true });
  const names = readdirSync(join(root, 'shim'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => basename(f, '.ts'));
  await Promise.all([
    buildAgentSnapshotScript().then(writeOutputs),
    ...names.map(async (name) => {
      if (name === SHIM_ENTRY) pruneChunks(writeOutputs(await buildShim({ write: false }), join(dist, SHIM_ENTRY_FILE)).metafile);
      else writeOutputs(await buildSingle(name, { write: false }), join(dist, `${name}.mjs`));
    }),
  ]);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await bundleAll();
