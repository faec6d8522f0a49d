// Builds an OCI image layout tar from the host's static busybox, for tests and the demo:
// no registry is reachable, so `ctr images import` of this file is how images arrive.
// The output is deterministic and cached next to a stamp; it is rebuilt only when the
// busybox binary, the image name, the customisation (config overrides, extra files) or
// this builder's format changes. Customised variants (a pause image, an image declaring a
// volume) are the same busybox root with a different config and a few more files.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { tarArchive } from './tar.mjs';

const FORMAT = 1; // bump when the image layout below changes
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_OUT = join(REPO_ROOT, 'build', 'images', 'busybox.oci.tar');
export const DEFAULT_NAME = 'docker.io/library/busybox:latest';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

function ociArch() {
  const map = { x64: 'amd64', arm64: 'arm64', s390x: 's390x', ppc64: 'ppc64le' };
  const arch = map[process.arch];
  if (!arch) throw new Error(`busybox image: unsupported architecture ${process.arch}`);
  return arch;
}

/** The tag part of a reference ("latest" for docker.io/library/busybox:latest). */
function refTag(name) {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
}

function applets(busybox) {
  const out = execFileSync(busybox, ['--list'], { encoding: 'utf8' });
  return [...new Set(out.split('\n').map((s) => s.trim()))]
    .filter((a) => a && a !== 'busybox' && !a.includes('/'))
    .sort();
}

/** The root filesystem as tar entries: busybox, one symlink per applet, minimal /etc. */
function baseEntries(binary, names) {
  const dir = (name, mode = 0o755) => ({ name, type: 'dir', mode });
  const file = (name, text, mode = 0o644) => ({ name, type: 'file', mode, data: Buffer.from(text) });
  return [
    ...['bin', 'dev', 'etc', 'home', 'proc', 'run', 'sbin', 'sys', 'usr', 'usr/bin', 'usr/sbin', 'var'].map((d) => dir(d)),
    dir('root', 0o700),
    dir('tmp', 0o1777),
    dir('var/tmp', 0o1777),
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: binary },
    ...names.map((a) => ({ name: `bin/${a}`, type: 'symlink', target: 'busybox' })),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'),
    file('etc/group', 'root:x:0:\nnogroup:x:65534:\n'),
  ];
}

/**
 * The base entries plus extra files: a file replaces a base entry of the same path, and
 * its missing parent directories are added (0755).
 */
function rootfsEntries(binary, names, files = []) {
  const entries = new Map(baseEntries(binary, names).map((e) => [e.name, e]));
  for (const f of files) {
    const path = f.path.replace(/^\/+/, '');
    if (!path || path.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`busybox image: bad file path ${f.path}`);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!entries.has(dir)) entries.set(dir, { name: dir, type: 'dir', mode: 0o755 });
    }
    entries.set(path, { name: path, type: 'file', mode: f.mode ?? 0o644, data: Buffer.from(f.content) });
  }
  return [...entries.values()];
}

/**
 * The image config: PATH and `sh` as the command, then the overrides. As with a Dockerfile's
 * ENTRYPOINT, overriding Entrypoint drops the default Cmd unless Cmd is given too.
 */
function imageConfig(overrides = {}) {
  const base = { Env: [PATH_ENV], Cmd: ['sh'] };
  if (overrides.Entrypoint !== undefined && overrides.Cmd === undefined) delete base.Cmd;
  const config = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) config[k] = v;
  return config;
}

/** What identifies a customisation in the cache stamp (null when there is none). */
function customKey(config, files) {
  if (config === undefined && (files === undefined || files.length === 0)) return null;
  const summary = {
    config: config ?? {},
    files: (files ?? []).map((f) => ({ path: f.path, mode: f.mode ?? 0o644, sha256: sha256(Buffer.from(f.content)) })),
  };
  return sha256(JSON.stringify(summary));
}

function blob(data, mediaType) {
  return { data, descriptor: { mediaType, digest: `sha256:${sha256(data)}`, size: data.length } };
}

/** Pure layout: every blob plus index.json for a one-layer image. */
export function ociLayout({ binary, applets: names, name, arch, config: overrides, files }) {
  const layerTar = tarArchive(rootfsEntries(binary, names, files));
  const layer = blob(gzipSync(layerTar, { level: 9 }), MEDIA.layer);
  const config = blob(
    Buffer.from(
      JSON.stringify({
        created: '1970-01-01T00:00:00Z',
        architecture: arch,
        os: 'linux',
        config: imageConfig(overrides),
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: 'scripts/image/busybox-oci.mjs' }],
      }),
    ),
    MEDIA.config,
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        config: config.descriptor,
        layers: [layer.descriptor],
      }),
    ),
    MEDIA.manifest,
  );
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        ...manifest.descriptor,
        platform: { architecture: arch, os: 'linux' },
        annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': refTag(name) },
      },
    ],
  };
  return { blobs: [layer, config, manifest], index, digest: manifest.descriptor.digest };
}

function layoutTar({ blobs, index }) {
  return tarArchive([
    { name: 'blobs', type: 'dir', mode: 0o755 },
    { name: 'blobs/sha256', type: 'dir', mode: 0o755 },
    ...blobs.map((b) => ({ name: `blobs/sha256/${b.descriptor.digest.slice(7)}`, type: 'file', mode: 0o644, data: b.data })),
    { name: 'index.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify(index)) },
    { name: 'oci-layout', type: 'file', mode: 0o644, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
  ]);
}

/**
 * Builds (or reuses) the busybox OCI layout tar.
 * @param {{ out?: string, name?: string, busybox?: string, config?: Record<string, unknown>,
 *   files?: { path: string, content: string | Buffer, mode?: number }[] }} [options]
 * @returns {Promise<{ path: string, digest: string, name: string, cached: boolean }>}
 */
export async function buildBusyboxOci(options = {}) {
  const out = options.out ?? DEFAULT_OUT;
  const name = options.name ?? DEFAULT_NAME;
  const busybox = options.busybox ?? '/bin/busybox';
  const binary = readFileSync(busybox);
  // custom is null for the plain image, so stamps written before customisation existed stay valid.
  const key = { format: FORMAT, busyboxSha256: sha256(binary), name, arch: ociArch(), custom: customKey(options.config, options.files) };
  const stampPath = `${out}.json`;
  if (existsSync(out) && existsSync(stampPath)) {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
    if (Object.entries(key).every(([k, v]) => (stamp[k] ?? null) === v)) return { path: out, digest: stamp.digest, name, cached: true };
  }
  const layout = ociLayout({ binary, applets: applets(busybox), name, arch: key.arch, config: options.config, files: options.files });
  mkdirSync(dirname(out), { recursive: true });
  // Write then rename, so a concurrent reader never sees half a file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, layoutTar(layout));
  renameSync(tmp, out);
  writeFileSync(`${stampPath}.${process.pid}.tmp`, `${JSON.stringify({ ...key, digest: layout.digest }, null, 2)}\n`);
  renameSync(`${stampPath}.${process.pid}.tmp`, stampPath);
  return { path: out, digest: layout.digest, name, cached: false };
}
