// Copies one process's stdio between the host ends (ProcessIo) and the guest process's
// streams (the sandbox's): stdin FIFO → write (then close stdin at EOF), stdout/stderr
// reads → FIFOs until an empty read. Failures end a copy with a log line, never a rejection.
import { settlesWithin } from '../../async/deadline.js';
import type { Logger } from '../../log/logger.js';
import type { ProcessStreams } from '../../sandbox/sandbox.js';
import { Code, internal, toRuntimeError } from '../../errors/index.js';
import type { OutputSink } from './output-sink.js';
import type { ProcessIo } from './process-io.js';

/** Kata's shim copies in 32 KiB buffers; ReadStreamRequest.len is 32768. */
export const COPY_CHUNK = 32 * 1024;

/** How long CloseIO waits for data already in the stdin FIFO to reach the agent. */
const DEFAULT_STDIN_DRAIN_MS = 2_000;

export interface StdioCopy {
  /** Resolves when stdout and stderr hit EOF (or failed, or io was closed) and were flushed. Never rejects. */
  readonly outputDone: Promise<void>;
  /** CloseIO(stdin): forwards what containerd already wrote, then CloseStdin once. Never rejects. */
  closeStdin(): Promise<void>;
}

export interface AttachOptions {
  stdinDrainMs?: number;
}

/** Call once the guest process exists (after StartContainer / ExecProcess). */
export function attach(io: ProcessIo, streams: ProcessStreams, opts: AttachOptions = {}): StdioCopy {
  const log = io.log;
  let agentStdinClosed: Promise<void> | undefined;
  const closeAgentStdin = (): Promise<void> => {
    agentStdinClosed ??= streams.closeStdin().then(
      () => log.debug('agent stdin closed'),
      (err: unknown) => logAgentError(log, 'close stdin', err),
    );
    return agentStdinClosed;
  };

  let closeRequested = false;
  let stdinDone: Promise<void>;
  if (io.stdin === undefined) {
    // Nothing will ever feed stdin: close it in the guest so readers see EOF (as Kata does).
    stdinDone = closeAgentStdin();
  } else {
    const socket = io.stdin.socket;
    stdinDone = copyStdin(socket, (data) => streams.write(data), log).then((outcome) => {
      if (outcome === 'eof' || (outcome === 'stopped' && closeRequested)) return closeAgentStdin();
      if (outcome === 'failed') socket.destroy(); // containerd's writer gets EPIPE instead of blocking
      return undefined;
    });
  }

  const outputs = [copyOutput('stdout', (n) => streams.read('stdout', n), io.stdout, io.released, log)];
  // A terminal has only one output stream; the agent has no stderr to read.
  if (!io.terminal) outputs.push(copyOutput('stderr', (n) => streams.read('stderr', n), io.stderr, io.released, log));

  return {
    outputDone: Promise.all(outputs).then(() => undefined),
    closeStdin: async () => {
      closeRequested = true;
      if (io.stdin === undefined) return closeAgentStdin();
      await io.wakeStdin();
      const drained = await settlesWithin(stdinDone, opts.stdinDrainMs ?? DEFAULT_STDIN_DRAIN_MS);
      if (!drained) {
        log.warn('stdin FIFO still has a writer after CloseIO; closing stdin anyway');
        io.stdin.socket.destroy();
      }
      await stdinDone;
    },
  };
}

type StdinOutcome = 'eof' | 'stopped' | 'failed';

async function copyStdin(socket: AsyncIterable<Buffer>, write: (data: Uint8Array) => Promise<number>, log: Logger): Promise<StdinOutcome> {
  try {
    for await (const chunk of socket) {
      for (let off = 0; off < chunk.length; ) {
        const n = await write(chunk.subarray(off, Math.min(off + COPY_CHUNK, chunk.length)));
        // A zero-byte write would otherwise spin forever.
        if (n <= 0) throw internal(`agent accepted ${n} of ${chunk.length - off} stdin bytes`);
        off += n;
      }
    }
    log.debug('stdin reached EOF');
    return 'eof';
  } catch (err) {
    // Destroying the socket (CloseIO timeout, close()) ends the iteration with a premature-close error.
    if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return 'stopped';
    logAgentError(log, 'stdin copy', err);
    return 'failed';
  }
}

async function copyOutput(
  name: string,
  read: (maxBytes: number) => Promise<Uint8Array>,
  sink: OutputSink,
  released: AbortSignal,
  log: Logger,
): Promise<void> {
  try {
    for (;;) {
      const data = await unlessAborted(read(COPY_CHUNK), released);
      if (data === undefined) return; // close() owns the sink now
      if (data.length === 0) break;
      await sink.write(data);
    }
    log.debug(`${name} reached EOF`);
  } catch (err) {
    logAgentError(log, `${name} copy`, err);
  }
  // Closing our end lets containerd's reader see EOF, also when the agent failed.
  await sink.end();
}

/** Resolves undefined as soon as `signal` aborts; the pending read is left to settle unobserved. */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function logAgentError(log: Logger, what: string, err: unknown): void {
  const e = toRuntimeError(err);
  // NOT_FOUND is the normal end of a process that exited first; the rest deserve attention.
  const level = e.code === Code.NOT_FOUND ? 'debug' : 'warn';
  log[level]({ code: e.codeName, err: e.message }, `${what} ended: ${e.message}`);
}
