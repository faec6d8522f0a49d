// Test images: built locally (no registry is reachable) and imported into a private containerd.
import { dirname, join } from 'node:path';
import { buildBusyboxOci, DEFAULT_NAME, DEFAULT_OUT } from '../../scripts/image/busybox-oci.mjs';
import type { Containerd } from './containerd.js';

export const BUSYBOX_IMAGE = DEFAULT_NAME;

export interface ImportOptions {
  /** Image reference; default docker.io/library/busybox:latest. */
  name?: string;
  /** Namespace to import into; default the instance's namespace. */
  namespace?: string;
}

/** Builds (or reuses) the busybox OCI tar, imports and unpacks it; returns the image reference. */
export async function importBusybox(containerd: Containerd, options: ImportOptions = {}): Promise<string> {
  const name = options.name ?? BUSYBOX_IMAGE;
  // A non-default name gets its own cached file, so the default one stays valid.
  const out = name === BUSYBOX_IMAGE ? undefined : join(dirname(DEFAULT_OUT), `busybox-${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.oci.tar`);
  const image = await buildBusyboxOci(out === undefined ? { name } : { name, out });
  await containerd.ctrOk(['images', 'import', image.path], {
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    timeoutMs: 60_000,
  });
  return name;
}
