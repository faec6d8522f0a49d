// The bundle directory containerd gives the shim (its cwd): config.json in, `address`,
// `shim.pid` out. Output files are written atomically (`.name` then rename) because
// containerd may read them at any time after a restart.
// Synchronous: the files are a few bytes to a few KB, and `start`, on every pod's critical
// path, then needs no trip through libuv's thread pool (nor starts its threads).
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../oci/runtime-spec.js';
import { invalidArgument, notFound } from '../errors/index.js';

export const ADDRESS_FILE = 'address';
export const PID_FILE = 'shim.pid';
export const LOG_FIFO = 'log';

/** containerd passes -bundle only to `delete`; `start` and the daemon run with cwd = bundle. */
export function bundleDir(flagBundle: string): string {
  return flagBundle || process.cwd();
}

export function readBundleSpec(bundle: string): Spec {
  const path = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`bundle ${bundle} has no config.json`);
    throw invalidArgument(`cannot read ${path}: ${(err as Error).message}`);
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalidArgument(`${path} is not a JSON object`);
  const annotations = (spec as { annotations?: unknown }).annotations;
  if (annotations !== undefined && (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations))) {
    throw invalidArgument(`${path}: annotations must be an object of strings`);
  }
  return spec as Spec;
}

export function writeBundleFile(bundle: string, name: string, content: string): void {
  const tmp = join(bundle, `.${name}`);
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, join(bundle, name));
}

/** Undoes writeBundleFile on a failed start, so containerd finds nothing half-written. */
export function removeBundleFiles(bundle: string, names: readonly string[]): void {
  for (const n of names) {
    rmSync(join(bundle, n), { force: true });
    rmSync(join(bundle, `.${n}`), { force: true });
  }
}
