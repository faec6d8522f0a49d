// Bundles every executable entry in shim/*.ts into dist/*.mjs: `node scripts/bundle.mjs`.
// kata-agent and kata-runtime are one self-contained file each (the agent is copied alone
// into the guest image). The shim is split: containerd runs `start` and `delete` for every
// container, and parsing the daemon's 1 MB of code (most of it generated protobuf code)
// would dominate them, so dist/containerd-shim-kata-v2.mjs is a small entry and each action
// imports its own chunks from dist/chunks/ (src/shim/main.ts).
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
export const SHIM_ENTRY = 'containerd-shim-kata-v2';
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

/** The shim's split build; `write: false` gives the metafile alone (test/shim/start-imports.test.ts). */
export function buildShim({ write = true } = {}) {
  return build({
    ...common,
    // Whitespace too: the daemon keeps its source for its whole life (V8 compiles
    // lazily), and less text parses faster. Identifiers stay, for readable stack traces.
    minifyWhitespace: true,
    entryPoints: [join(root, 'shim', `${SHIM_ENTRY}.ts`)],
    outdir: dist,
    splitting: true,
    entryNames: '[name]',
    chunkNames: `${CHUNKS}/[name]-[hash]`,
    outExtension: { '.js': '.mjs' },
    metafile: true,
    write,
  });
}

/** One self-contained executable (every entry but the shim); `write: false` gives the metafile alone. */
export function buildSingle(name, { write = true } = {}) {
  return build({ ...common, entryPoints: [join(root, 'shim', `${name}.ts`)], outfile: join(dist, `${name}.mjs`), metafile: true, write });
}

/** The guest agent's snapshot builder script (src/guest/snapshot-entry.ts), CommonJS as
 * node's --build-snapshot requires; scripts/guest/build.sh turns it into the snapshot. */
export const AGENT_SNAPSHOT_SCRIPT = 'kata-agent.snapshot.cjs';

function buildAgentSnapshotScript() {
  return build({
    ...common,
    format: 'cjs',
    entryPoints: [join(root, 'src', 'guest', 'snapshot-entry.ts')],
    outfile: join(dist, AGENT_SNAPSHOT_SCRIPT),
    // CommonJS has no import.meta; the vsock addon is looked up next to the script.
    define: { 'import.meta.url': '__import_meta_url' },
    banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
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
}

/**
 * Writes each output by rename, and only when its bytes changed: a shim starting while a
 * build runs (tests rebuild dist/ in their setup, several at once) reads a whole file, old
 * or new, never one being written.
 */
function writeOutputs(result) {
  for (const f of result.outputFiles) {
    let same = false;
    try {
      same = readFileSync(f.path).equals(Buffer.from(f.contents));
    } catch {
      // absent: written below
    }
    if (same) continue;
    mkdirSync(dirname(f.path), { recursive: true });
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents, { mode: 0o644 });
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
      if (name === SHIM_ENTRY) pruneChunks(writeOutputs(await buildShim({ write: false })).metafile);
      else writeOutputs(await buildSingle(name, { write: false }));
      chmodSync(join(dist, `${name}.mjs`), 0o755);
    }),
  ]);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await bundleAll();
