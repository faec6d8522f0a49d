// Bundles every executable entry in shim/*.ts into one self-contained ESM file in dist/.
// The shim is started for every container, so loading one file instead of a module
// graph keeps its start-up short.
import { build } from 'esbuild';
import { readdirSync, chmodSync, mkdirSync } from 'node:fs';
import { join, basename } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const entries = readdirSync(join(root, 'shim')).filter((f) => f.endsWith('.ts'));
mkdirSync(join(root, 'dist'), { recursive: true });

await Promise.all(
  entries.map(async (file) => {
    const outfile = join(root, 'dist', `${basename(file, '.ts')}.mjs`);
    await build({
      entryPoints: [join(root, 'shim', file)],
      outfile,
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
    });
    chmodSync(outfile, 0o755);
  }),
);
