// The shim's unix socket: probing whether a shim answers on it, binding it in `start` for
// the daemon to inherit (as Kata's runtime-rs and containerd's Go shims do), and the
// daemon's listener on it, all the way the Go shim library does (0711 directory, 0600
// socket, a stale socket replaced, a live one never).
import { chmodSync, linkSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { basename, dirname, join } from 'node:path';

export type SocketState = 'live' | 'stale' | 'absent';

/**
 * Names the inherited listening socket's fd in the daemon's environment (Kata's runtime-rs
 * calls it KATA_RUNTIME_BIND_FD); absent when the daemon is run by hand.
 */
export const LISTEN_FD_ENV = 'KATA_SHIM_LISTEN_FD';

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
  rmSync(path, { force: true });
  return true;
}

function listenOn(options: string | { fd: number }): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Links the socket bound at `tmp` to `path`: EEXIST when something is there already. */
async function publish(tmp: string, path: string): Promise<void> {
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Kata removes and retries; we only do so when no shim answers there.
    if (!(await removeStaleSocket(path))) throw new Error(`another shim already listens on ${path}`, { cause: err });
    linkSync(tmp, path);
  }
}

/**
 * Listens on `path` with a socket whose handle does not know `path`. Closing a listener
 * bound by path unlinks that path (libuv does), so `start`, which closes its copy once the
 * daemon holds the socket, binds a private name in the same directory and links the socket
 * to `path` only once it listens: its close then never removes the daemon's socket, and
 * `path` appears listening or not at all.
 */
export async function bindShimSocket(path: string): Promise<net.Server> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  // Shorter than `path` (a 64-hex name), so within the socket path limit whenever it is.
  const tmp = join(dir, `.${process.pid.toString(36)}-${basename(path).slice(0, 8)}`);
  rmSync(tmp, { force: true });
  const server = await listenOn(tmp);
  try {
    chmodSync(tmp, 0o600);
    await publish(tmp, path);
    return server;
  } catch (err) {
    server.close();
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The fd `start` hands to the daemon; throws if this Node keeps it out of reach. */
export function listenerFd(server: net.Server): number {
  // No public API names a server's fd; child_process accepts it as a plain inherited fd.
  const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) throw new Error('cannot hand the shim socket to the daemon: its fd is not available');
  return fd;
}

/**
 * The daemon's listener: the socket `start` bound and handed over (the fd named by
 * LISTEN_FD_ENV), or, for a daemon run by hand, a new one at `path`. The variable is
 * removed so the daemon's children (QEMU, virtiofsd) do not see it; the fd itself is
 * close-on-exec already (Node marks every inherited fd above 2 so at startup).
 */
export async function listenShimSocket(path: string): Promise<net.Server> {
  const inherited = process.env[LISTEN_FD_ENV];
  if (inherited === undefined) return bindShimSocket(path);
  delete process.env[LISTEN_FD_ENV];
  const fd = Number(inherited);
  if (!Number.isInteger(fd) || fd < 3) throw new Error(`${LISTEN_FD_ENV}=${inherited} does not name an inherited socket`);
  return listenOn({ fd });
}
