// Generates typed static protobuf code from proto/ into src/gen/ (ignored by git).
// One module for everything keeps cross-package references (Mount, Any, ...) simple.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const protoDir = join(root, 'proto');
const outDir = join(root, 'src', 'gen');
const out = join(outDir, 'proto.js');
const dts = join(outDir, 'proto.d.ts');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.proto') ? [p] : [];
  });
}

const files = walk(protoDir).sort();
const newest = Math.max(...files.map((f) => statSync(f).mtimeMs), statSync(new URL(import.meta.url).pathname).mtimeMs);
if (existsSync(out) && existsSync(dts) && statSync(out).mtimeMs > newest && statSync(dts).mtimeMs > newest) {
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });
const bin = (name) => join(root, 'node_modules', '.bin', name);
execFileSync(bin('pbjs'), [
  '-t', 'static-module', '-w', 'esm', '--force-number', '--no-beautify',
  '--no-delimited', '--no-verify', '--no-convert', '--no-service',
  '-p', protoDir, '-o', out, ...files,
], { cwd: protoDir, stdio: 'inherit' });
// Node's ESM resolver needs the file extension; protobufjs has no "exports" map.
// 64-bit fields are plain numbers (exact to 2^53): without Long, protobufjs decodes them as numbers.
writeFileSync(out, readFileSync(out, 'utf8').replace(
  /import \$protobuf from "protobufjs\/minimal(\.js)?";/,
  'import $protobuf from "protobufjs/minimal.js";\n$protobuf.util.Long = undefined;\n$protobuf.configure();',
));
execFileSync(bin('pbts'), ['--no-comments', '-o', dts, out], { stdio: 'inherit' });
