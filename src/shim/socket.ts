// The shim's unix socket: probing whether a shim answers on it, and listening on it the
// way the Go shim library does (directory, 0600 socket, stale socket replaced).
import { chmod, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';

export type SocketState = 'live' | 'stale' | 'absent';

/** live: something accepts connections; stale: a path nobody listens on; absent: no path. */
export function probeSocket(path: string, timeoutMs = 1000): Promise<SocketState> {
  return new Promise((resolve) => {
    const sock = net.createConnection({ path });
    const done = (state: SocketState): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(state);
    };
    // A listener that does not accept within the timeout is treated as alive: never
    // delete a socket a slow shim may still be serving.
    const timer = setTimeout(() => done('live'), timeoutMs);
    sock.once('connect', () => done('live'));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? 'absent' : 'stale'));
  });
}

/** Removes `path` when nothing listens on it; returns true if it was removed. */
export async function removeStaleSocket(path: string): Promise<boolean> {
  if ((await probeSocket(path)) !== 'stale') return false;
  await rm(path, { force: true });
  return true;
}

function listenOnce(path: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Creates the socket directory (0711 like containerd's own dirs), listens, chmods 0600. */
export async function listenShimSocket(path: string): Promise<net.Server> {
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  let server: net.Server;
  try {
    server = await listenOnce(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    // Kata removes and retries; we only do so when no shim answers there.
    if (!(await removeStaleSocket(path))) throw new Error(`another shim already listens on ${path}`, { cause: err });
    server = await listenOnce(path);
  }
  await chmod(path, 0o600);
  return server;
}
