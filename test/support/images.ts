// Test images: built locally (no registry is reachable) and imported into a private containerd.
// CRI only sees images in the "k8s.io" namespace: pass { namespace: CRI_NAMESPACE } for it.
import { dirname, join } from 'node:path';
import { buildBusyboxOci, DEFAULT_NAME, DEFAULT_OUT, type BusyboxOciOptions } from '../../scripts/image/busybox-oci.mjs';
import type { Containerd } from './containerd.js';

export const BUSYBOX_IMAGE = DEFAULT_NAME;
export const CRI_NAMESPACE = 'k8s.io';

/**
 * The sandbox ("pause") image for CRI's sandbox_image: busybox sh as PID 1 sleeping forever,
 * reaping children (ash's `wait` collects any child, orphans included), exiting 0 on SIGTERM
 * or SIGINT (a trapped signal interrupts `wait`; an untrapped one would be ignored by PID 1).
 */
export const PAUSE_IMAGE = 'localhost/kata-test/pause:1';
export const PAUSE_ENTRYPOINT: readonly string[] = ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"];

/** An image declaring a volume at VOLUME_PATH whose layer holds VOLUME_FILE with VOLUME_FILE_CONTENT. */
export const VOLUME_IMAGE = 'localhost/kata-test/volume:1';
export const VOLUME_PATH = '/data';
export const VOLUME_FILE = '/data/from-image.txt';
export const VOLUME_FILE_CONTENT = 'written into the image layer\n';

export interface ImportOptions {
  /** Image reference; default docker.io/library/busybox:latest. */
  name?: string;
  /** Namespace to import into; default the instance's namespace. */
  namespace?: string;
}

/** A cached tar per image name, beside the default one, so each stays valid on its own. */
function outFor(name: string): string {
  return join(dirname(DEFAULT_OUT), `busybox-${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.oci.tar`);
}

async function buildAndImport(containerd: Containerd, build: BusyboxOciOptions, namespace: string | undefined): Promise<string> {
  const image = await buildBusyboxOci(build);
  await containerd.ctrOk(['images', 'import', image.path], {
    ...(namespace === undefined ? {} : { namespace }),
    timeoutMs: 60_000,
  });
  return image.name;
}

/** Builds (or reuses) the busybox OCI tar, imports and unpacks it; returns the image reference. */
export async function importBusybox(containerd: Containerd, options: ImportOptions = {}): Promise<string> {
  const name = options.name ?? BUSYBOX_IMAGE;
  return buildAndImport(containerd, name === BUSYBOX_IMAGE ? { name } : { name, out: outFor(name) }, options.namespace);
}

/** The pause image (PAUSE_IMAGE unless named otherwise); returns its reference. */
export async function importPauseImage(containerd: Containerd, options: ImportOptions = {}): Promise<string> {
  const name = options.name ?? PAUSE_IMAGE;
  const build = { name, out: outFor(name), config: { Entrypoint: [...PAUSE_ENTRYPOINT] } };
  return buildAndImport(containerd, build, options.namespace);
}

/** The image with a declared volume (VOLUME_IMAGE unless named otherwise); returns its reference. */
export async function importVolumeImage(containerd: Containerd, options: ImportOptions = {}): Promise<string> {
  const name = options.name ?? VOLUME_IMAGE;
  const build = {
    name,
    out: outFor(name),
    config: { Volumes: { [VOLUME_PATH]: {} } },
    files: [{ path: VOLUME_FILE, content: VOLUME_FILE_CONTENT }],
  };
  return buildAndImport(containerd, build, options.namespace);
}
