// A minimal deterministic ustar writer: regular files, directories and symlinks,
// owned by 0:0 with no user/group names, so the same entries always give the same bytes.

const BLOCK = 512;

/**
 * @typedef {{ name: string, type: 'file', mode: number, data: Buffer }
 *   | { name: string, type: 'dir', mode: number }
 *   | { name: string, type: 'symlink', target: string }} TarEntry
 */

/** Writes `value` as a NUL-terminated octal field of `width` bytes. */
function octal(buf, offset, width, value) {
  const text = value.toString(8).padStart(width - 1, '0');
  if (text.length > width - 1) throw new Error(`tar: ${value} does not fit in ${width} octal bytes`);
  buf.write(text, offset, width - 1, 'ascii');
  buf[offset + width - 1] = 0;
}

/** Splits a path into ustar (prefix, name): name ≤ 100 bytes, prefix ≤ 155 bytes. */
function splitName(path) {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  const body = path.endsWith('/') ? path.slice(0, -1) : path;
  for (let i = body.indexOf('/'); i !== -1; i = body.indexOf('/', i + 1)) {
    const prefix = body.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

/** @param {TarEntry} entry */
function header(entry) {
  const h = Buffer.alloc(BLOCK);
  const path = entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  const { prefix, name } = splitName(path);
  h.write(name, 0, 100, 'utf8');
  const mode = entry.type === 'symlink' ? 0o777 : entry.mode;
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, entry.type === 'file' ? entry.data.length : 0);
  octal(h, 136, 12, 0); // mtime: fixed for reproducible digests
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder
  h.write(entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2', 156, 1, 'ascii');
  if (entry.type === 'symlink') {
    if (Buffer.byteLength(entry.target) > 100) throw new Error(`tar: link target too long: ${entry.target}`);
    h.write(entry.target, 157, 100, 'utf8');
  }
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  octal(h, 329, 8, 0); // devmajor
  octal(h, 337, 8, 0); // devminor
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/**
 * Builds a tar archive from entries, sorted by name so input order never matters.
 * @param {TarEntry[]} entries
 * @returns {Buffer}
 */
export function tarArchive(entries) {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts = [];
  for (const entry of sorted) {
    parts.push(header(entry));
    if (entry.type === 'file') {
      parts.push(entry.data);
      const pad = (BLOCK - (entry.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
