// Builds native/vsock (the AF_VSOCK binding) with node-gyp, offline: headers come from
// the local Node installation, never from a download. A no-op when the .node file is
// newer than every source, so it can run before each test or build.
//   node scripts/build-native.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const addonDir = join(root, 'native', 'vsock');
const output = join(addonDir, 'build', 'Release', 'vsock.node');

function sources() {
  const src = join(addonDir, 'src');
  return [join(addonDir, 'binding.gyp'), ...readdirSync(src).map((f) => join(src, f))];
}

function isFresh() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return sources().every((f) => statSync(f).mtimeMs <= built);
}

// npm exports its bundled node-gyp to scripts as npm_config_node_gyp; outside npm,
// look next to the running node (the global npm install) or in node_modules.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a project dependency: fine, npm's copy is the usual one
  }
  const found = candidates.find((c) => c !== undefined && existsSync(c));
  if (found === undefined) {
    throw new Error(`build-native: node-gyp not found (looked in: ${candidates.filter(Boolean).join(', ')})`);
  }
  return found;
}

// The directory whose include/node/ holds node_api.h and common.gypi for this node.
function findNodeDir() {
  const fromConfig = process.env.npm_config_nodedir;
  const candidates = [fromConfig, resolve(dirname(process.execPath), '..')].filter(Boolean);
  const found = candidates.find((d) => existsSync(join(d, 'include', 'node', 'common.gypi')));
  if (found === undefined) {
    throw new Error(
      `build-native: no local Node headers (include/node/common.gypi) under ${candidates.join(', ')}; ` +
        'node-gyp would try to download them. Install the headers or set npm_config_nodedir.',
    );
  }
  return found;
}

function main() {
  const force = process.argv.includes('--force');
  if (!force && isFresh()) return;
  const nodeGyp = findNodeGyp();
  const nodedir = findNodeDir();
  const args = [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--release', '--jobs=max'];
  const run = spawnSync(process.execPath, args, { cwd: addonDir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    throw new Error(`build-native: node-gyp rebuild failed in ${addonDir} (exit ${run.status ?? run.signal})`);
  }
  if (!existsSync(output)) throw new Error(`build-native: node-gyp succeeded but ${output} is missing`);
  process.stdout.write(`build-native: built ${output}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
