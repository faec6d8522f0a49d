// The bundle directory containerd gives the shim (its cwd): config.json in, `address`,
// `shim.pid` out. Output files are written atomically (`.name` then rename) because
// containerd may read them at any time after a restart.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
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

export async function readBundleSpec(bundle: string): Promise<Spec> {
  const path = join(bundle, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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

export async function writeBundleFile(bundle: string, name: string, content: string): Promise<void> {
  const tmp = join(bundle, `.${name}`);
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, join(bundle, name));
}

/** Undoes writeBundleFile on a failed start, so containerd finds nothing half-written. */
export async function removeBundleFiles(bundle: string, names: readonly string[]): Promise<void> {
  await Promise.all(names.flatMap((n) => [rm(join(bundle, n), { force: true }), rm(join(bundle, `.${n}`), { force: true })]));
}
