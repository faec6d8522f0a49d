// Hybrid vsock (Firecracker, Cloud Hypervisor): the VMM exposes the guest's vsock as a
// unix socket; a client writes "CONNECT <port>\n" and the VMM answers one line
// ("OK <host port>\n") before the connection carries raw bytes.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Code, RuntimeError } from '../../errors/index.js';
import { connectUnix } from './unix.js';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** A VMM reply is a few bytes; anything longer without a newline is not a reply. */
const MAX_REPLY = 1024;

export interface HybridVsockOptions {
  /** Covers connecting and the CONNECT/OK exchange (Kata uses 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function connectHybridVsock(udsPath: string, port: number, opts: HybridVsockOptions = {}): Promise<Duplex> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const what = `hybrid vsock ${udsPath} port ${port}`;
  const deadline = Date.now() + timeoutMs;
  const socket = await connectUnix(udsPath, { signal: opts.signal, timeoutMs }, what);
  try {
    socket.write(`CONNECT ${port}\n`);
    const reply = await readLine(socket, what, {
      waitMs: Math.max(0, deadline - Date.now()),
      timeoutMessage: `${what}: no reply to CONNECT within ${timeoutMs} ms`,
      signal: opts.signal,
    });
    if (!reply.includes('OK')) {
      throw new RuntimeError(Code.UNAVAILABLE, `${what}: CONNECT refused, reply ${JSON.stringify(reply)}`);
    }
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/**
 * Reads one "\n"-terminated line (without the newline). Bytes after it stay in the
 * stream (unshift), so the first ttrpc frame may share a chunk with the reply.
 */
function readLine(
  socket: Socket,
  what: string,
  { waitMs, timeoutMessage, signal }: { waitMs: number; timeoutMessage: string; signal?: AbortSignal },
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new RuntimeError(Code.DEADLINE_EXCEEDED, timeoutMessage)), waitMs);
    const onAbort = (): void => finish(new RuntimeError(Code.CANCELLED, `${what}: aborted`, { cause: signal?.reason }));
    const onError = (err: Error): void =>
      finish(new RuntimeError(Code.UNAVAILABLE, `${what}: connection failed during handshake: ${err.message}`, { cause: err }));
    const onEnd = (): void =>
      finish(new RuntimeError(Code.UNAVAILABLE, `${what}: connection closed before the CONNECT reply (got ${JSON.stringify(buffered.toString())})`));
    const onReadable = (): void => {
      for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) {
        buffered = Buffer.concat([buffered, chunk]);
        const nl = buffered.indexOf(0x0a);
        if (nl >= 0) {
          const rest = buffered.subarray(nl + 1);
          finish(undefined, buffered.subarray(0, nl).toString('utf8').replace(/\r$/, ''));
          if (rest.length > 0) socket.unshift(rest);
          return;
        }
        if (buffered.length > MAX_REPLY) {
          finish(new RuntimeError(Code.UNAVAILABLE, `${what}: CONNECT reply longer than ${MAX_REPLY} bytes without a newline`));
          return;
        }
      }
    };
    function finish(err: Error | undefined, line?: string): void {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve(line ?? '');
      else reject(err);
    }
    socket.on('readable', onReadable);
    socket.on('error', onError);
    socket.on('end', onEnd);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
