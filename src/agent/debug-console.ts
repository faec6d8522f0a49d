// The host end of the agent's debug console: connects to QEMU's socket for the guest's
// console port, opens a session (src/agent/debug-console-protocol.ts) and hands back the
// shell's terminal as a stream: what is written is typed into it, what is read is what it
// prints; the stream ends when the shell has ended. Destroying it hangs the shell up.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { withDeadline } from '../async/deadline.js';
import { Code, RuntimeError, toRuntimeError } from '../errors/index.js';
import { ConsoleReplyDecoder, encodeOpen, validSize, validTerm, type ConsoleFrame } from './debug-console-protocol.js';
import { connectUnix } from './transport/unix.js';

export interface DebugConsoleRequest {
  /** The client's terminal size; 0 without a terminal. */
  readonly rows: number;
  readonly cols: number;
  readonly term: string;
}

/** A request from what a client sent: a size or TERM it cannot use means "no terminal" or the default TERM. Pure. */
export const debugConsoleRequest = (rows: number, cols: number, term: string | undefined): DebugConsoleRequest => ({
  rows: validSize(rows),
  cols: validSize(cols),
  term: validTerm(term),
});

/** How long the guest gets to start a shell and answer (TCG guests under load are slow). */
const CONSOLE_READY_TIMEOUT_MS = 20_000;

/** The shell's terminal; `shellExited` tells a shell that ended from a connection that broke. */
export class DebugConsoleStream extends Duplex {
  #shellExited = false;

  constructor(private readonly socket: Socket) {
    super({ allowHalfOpen: true });
  }

  get shellExited(): boolean {
    return this.#shellExited;
  }

  deliver(frames: readonly ConsoleFrame[]): void {
    for (const f of frames) {
      if (f.type === 'exit') {
        this.#shellExited = true;
        this.push(null);
        // Disconnecting is how the host says "session over" to the guest.
        this.socket.end();
        return;
      }
      if (!this.push(f.data)) this.socket.pause();
    }
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.destroyed || this.socket.writableEnded) return cb(); // the session is over; input goes nowhere
    this.socket.write(chunk, (err) => cb(err ?? null));
  }

  /** The end of the user's input is not the end of the session: the shell may still be printing. */
  override _final(cb: (err?: Error | null) => void): void {
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}

/** Opens a session on the console socket of a running VM. */
export async function openDebugConsole(socketPath: string, req: DebugConsoleRequest): Promise<DebugConsoleStream> {
  const nonce = randomBytes(8).toString('hex');
  const socket = await connectUnix(socketPath, {}, `debug console socket ${socketPath}`).catch((err: unknown) => {
    throw new RuntimeError(Code.UNAVAILABLE, `debug console: cannot connect to ${socketPath}: ${toRuntimeError(err).message}`, { cause: err });
  });
  const stream = new DebugConsoleStream(socket);
  const decoder = new ConsoleReplyDecoder(nonce);
  let ready!: () => void;
  let failed!: (err: Error) => void;
  const answered = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  socket.on('data', (chunk: Buffer) => {
    let frames: ConsoleFrame[];
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      failed(err as Error);
      stream.destroy(err as Error);
      return;
    }
    if (decoder.ready) ready();
    stream.deliver(frames);
  });
  socket.on('error', (err) => {
    failed(err);
    stream.destroy(err);
  });
  socket.on('close', () => {
    failed(new RuntimeError(Code.UNAVAILABLE, 'debug console: the VM closed the console socket before the guest answered'));
    if (!stream.shellExited) stream.push(null);
  });
  socket.write(encodeOpen({ nonce, ...req }));

  try {
    await withDeadline(
      answered,
      CONSOLE_READY_TIMEOUT_MS,
      () =>
        new RuntimeError(
          Code.DEADLINE_EXCEEDED,
          `debug console: the guest agent did not answer within ${CONSOLE_READY_TIMEOUT_MS / 1000} s (the guest image needs an agent that serves agent.debug_console)`,
        ),
    );
    return stream;
  } catch (err) {
    stream.destroy();
    throw err;
  }
}
