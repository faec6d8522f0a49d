// Loads the AF_VSOCK addon (native/vsock) on first use, so hosts without it (or
// without vsock at all) still run the unix, hybrid-vsock and serial transports.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Code, RuntimeError, failedPrecondition } from '../../errors/index.js';

/** libuv poll events (uv.h UV_READABLE / UV_WRITABLE). */
export const READABLE = 1;
export const WRITABLE = 2;

/** A uv_poll_t on a descriptor it owns: close() stops polling, then closes the fd. */
export interface NativeWatcher {
  /** Poll for these events (0 stops polling). */
  start(events: number): void;
  stop(): void;
  close(onClosed?: () => void): void;
}

/** The addon's exports; see native/vsock/src/syscalls.c. -1 means "would block". */
export interface VsockBinding {
  socket(): number;
  /** true when connected at once, false while in progress (poll for writable). */
  connect(fd: number, cid: number, port: number): boolean;
  /** Throws the deferred connect error, if any. */
  finishConnect(fd: number, cid: number, port: number): void;
  /** The socket's pending errno (SO_ERROR), 0 if none; reading it clears it. */
  pendingError(fd: number): number;
  listen(fd: number, cid: number, port: number, backlog: number): void;
  accept(fd: number): number;
  address(fd: number, peer: boolean): { cid: number; port: number };
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array): number;
  shutdown(fd: number): void;
  close(fd: number): void;
  /** A connected AF_UNIX pair: exercises the stream layer on hosts without vsock. */
  socketpair(): [number, number];
  /**
   * Opens `path` (/dev/vhost-vsock) and claims a free guest CID, searching from `startCid`
   * (3..2^32-2) as Kata does; the close-on-exec descriptor holds the CID until closed.
   * Throws an Error with code/errno/syscall ("open" or "ioctl"); nothing stays open then.
   */
  openVhostVsock(path: string, startCid: number): { fd: number; cid: number };
  Watcher: new (fd: number, onEvent: (status: number, events: number) => void) => NativeWatcher;
  VMADDR_CID_ANY: number;
  VMADDR_CID_LOCAL: number;
  VMADDR_CID_HOST: number;
  VMADDR_PORT_ANY: number;
}

const ADDON = join('native', 'vsock', 'build', 'Release', 'vsock.node');
/** Overrides the addon location, e.g. inside a guest image that ships it elsewhere. */
export const ADDON_PATH_ENV = 'KATA_VSOCK_ADDON';

let cached: VsockBinding | undefined;

/** Walks up from this module (src/agent/transport or a bundle in dist/) to the project root. */
export function findVsockAddon(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    if (dir === parse(dir).root) return undefined;
  }
}

export function loadVsockBinding(): VsockBinding {
  if (cached !== undefined) return cached;
  const path = process.env[ADDON_PATH_ENV] ?? findVsockAddon();
  if (path === undefined) {
    throw failedPrecondition(
      `vsock: native binding not built (${ADDON} not found above ${dirname(fileURLToPath(import.meta.url))}); ` +
        `run "node scripts/build-native.mjs" or set ${ADDON_PATH_ENV}`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as VsockBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RuntimeError(Code.FAILED_PRECONDITION, `vsock: cannot load native binding ${path}: ${reason}`, { cause: err });
  }
  return cached;
}
