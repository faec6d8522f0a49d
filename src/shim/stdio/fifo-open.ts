// Opening containerd's FIFOs without ever blocking: every open() here uses O_NONBLOCK,
// so neither the event loop nor a libuv threadpool thread can wait on a peer that
// never comes. The descriptors are wrapped in net.Socket (libuv pipe handles), which
// poll for readiness instead of blocking in read()/write().
import { constants as fsc, open, close, fstat, type Stats } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import { RuntimeError, invalidArgument, toRuntimeError } from '../../errors/index.js';

const openFd = promisify(open);
const closeFd = promisify(close);
const fstatFd = promisify(fstat);

/** How an output FIFO was opened; `shared-reader` means we hold a read end ourselves. */
export type OutputFifoMode = 'write-only' | 'shared-reader';

export interface OutputFifo {
  readonly socket: Socket;
  readonly mode: OutputFifoMode;
}

/**
 * Output FIFO (stdout/stderr). containerd opens its read side before Create/Exec
 * (a pending blocking open already counts as a reader), so O_WRONLY|O_NONBLOCK
 * normally succeeds; then a reader that goes away shows up as EPIPE and we can
 * discard instead of blocking the guest. If no reader exists yet (ENXIO) we fall
 * back to O_RDWR, as Kata's shim always does: open never waits and no output is
 * lost before the reader arrives, at the price of no EPIPE detection.
 */
export async function openOutputFifo(path: string, what: string): Promise<OutputFifo> {
  let fd: number;
  let mode: OutputFifoMode = 'write-only';
  try {
    fd = await openFd(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw openError(what, path, err);
    mode = 'shared-reader';
    fd = await openFd(path, fsc.O_RDWR | fsc.O_NONBLOCK).catch((e: unknown) => {
      throw openError(what, path, e);
    });
  }
  await requireFifo(fd, what, path);
  // readable:false: with O_RDWR we must never consume our own output.
  return { socket: new Socket({ fd, readable: false, writable: true }), mode };
}

/**
 * Stdin FIFO. O_RDONLY|O_NONBLOCK returns at once; the kernel reports no hang-up on
 * such a reader until a writer has come and gone, so the socket simply waits for
 * containerd's writer, then reads until every writer closed (EOF).
 */
export async function openStdinFifo(path: string): Promise<Socket> {
  const fd = await openFd(path, fsc.O_RDONLY | fsc.O_NONBLOCK).catch((e: unknown) => {
    throw openError('stdin', path, e);
  });
  await requireFifo(fd, 'stdin', path);
  return new Socket({ fd, readable: true, writable: false });
}

/**
 * Opens and closes a writer at once. A reader that never saw a writer (containerd's
 * writer left before we opened, or never came) then sees EOF once the pipe is empty.
 */
export async function pokeWriter(path: string): Promise<void> {
  const fd = await openFd(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
  await closeFd(fd);
}

async function requireFifo(fd: number, what: string, path: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await fstatFd(fd);
  } catch (err) {
    await closeFd(fd).catch(() => undefined);
    throw openError(what, path, err);
  }
  if (!stats.isFIFO()) {
    await closeFd(fd).catch(() => undefined);
    throw invalidArgument(`${what} ${path}: not a FIFO`);
  }
}

function openError(what: string, path: string, err: unknown): RuntimeError {
  const e = toRuntimeError(err);
  return new RuntimeError(e.code, `open ${what} ${path}: ${e.message}`, { cause: err });
}
