// Where a shim listens: containerd's formula, so containerd (and a sibling shim of the
// same pod) can compute the address from the -address, namespace and sandbox id.
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** containerd 1.6 fixes the shim socket directory here. */
export const SHIM_SOCKET_DIR = '/run/containerd/s';
const SOCKET_PATH_LIMIT = 106;

export function shimSocketPath(containerdAddress: string, namespace: string, id: string, dir = SHIM_SOCKET_DIR): string {
  // Go's filepath.Join cleans the joined path; path.join does the same.
  const digest = createHash('sha256').update(join(containerdAddress, namespace, id)).digest('hex');
  const path = join(dir, digest);
  if (Buffer.byteLength(path) > SOCKET_PATH_LIMIT) {
    throw new Error(`shim socket path ${path} is longer than ${SOCKET_PATH_LIMIT} bytes`);
  }
  return path;
}

export const toUnixAddress = (path: string): string => `unix://${path}`;

export function fromUnixAddress(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address;
}
