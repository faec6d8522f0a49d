// The host ends of one process's stdio, opened from what containerd passed to
// Create/Exec. Opening never blocks; close() releases every descriptor.
import type { Socket } from 'node:net';
import type { Logger } from '../../log/logger.js';
import { openOutputFifo, openStdinFifo, pokeWriter } from './fifo-open.js';
import { AppendFile, FifoSink, discardSink, type OutputSink } from './output-sink.js';
import { planStdio, type OutputTarget, type StdioPaths } from './stdio-plan.js';

export interface StdinFifo {
  readonly path: string;
  readonly socket: Socket;
}

export interface ProcessIo {
  readonly terminal: boolean;
  /** Undefined when containerd gave no stdin. */
  readonly stdin: StdinFifo | undefined;
  readonly stdout: OutputSink;
  /** The discard sink with a terminal or without a stderr path. */
  readonly stderr: OutputSink;
  /** Aborted by close(): copies stop waiting on the agent. */
  readonly released: AbortSignal;
  readonly log: Logger;
  /** Lets a stdin reader that never saw a writer reach EOF (used by CloseIO). */
  wakeStdin(): Promise<void>;
  /** Idempotent; resolves when every descriptor is closed. */
  close(): Promise<void>;
}

export async function openProcessIo(paths: StdioPaths, log: Logger): Promise<ProcessIo> {
  const plan = planStdio(paths);
  const opened: Array<() => Promise<void>> = [];
  try {
    let stdin: StdinFifo | undefined;
    if (plan.stdin !== undefined) {
      const socket = await openStdinFifo(plan.stdin);
      stdin = { path: plan.stdin, socket };
      opened.push(() => destroySocket(socket));
    }
    const file = await openAppendFile(plan.stdout, plan.stderr, log);
    const stdout = await openSink(plan.stdout, 'stdout', file, log);
    opened.push(() => stdout.destroy());
    const stderr = await openSink(plan.stderr, 'stderr', file, log);
    opened.push(() => stderr.destroy());
    return makeProcessIo(paths.terminal, stdin, stdout, stderr, opened, log);
  } catch (err) {
    // Release in reverse order of acquisition, also on failure.
    for (const release of opened.reverse()) await release();
    throw err;
  }
}

function makeProcessIo(
  terminal: boolean,
  stdin: StdinFifo | undefined,
  stdout: OutputSink,
  stderr: OutputSink,
  releases: Array<() => Promise<void>>,
  log: Logger,
): ProcessIo {
  const abort = new AbortController();
  let closing: Promise<void> | undefined;
  return {
    terminal,
    stdin,
    stdout,
    stderr,
    released: abort.signal,
    log,
    wakeStdin: async () => {
      if (stdin === undefined || stdin.socket.destroyed) return;
      // ENXIO once our reader is gone is harmless: there is nobody left to wake.
      await pokeWriter(stdin.path).catch(() => undefined);
    },
    close: () => {
      closing ??= (async () => {
        abort.abort();
        for (const release of [...releases].reverse()) await release();
      })();
      return closing;
    },
  };
}

async function openAppendFile(stdout: OutputTarget, stderr: OutputTarget, log: Logger): Promise<AppendFile | undefined> {
  const target = [stdout, stderr].find((t) => t.kind === 'append-file');
  return target === undefined ? undefined : AppendFile.open(target.path, log);
}

async function openSink(target: OutputTarget, what: string, file: AppendFile | undefined, log: Logger): Promise<OutputSink> {
  switch (target.kind) {
    case 'discard':
      return discardSink;
    case 'append-file':
      // openAppendFile opened it because this target exists.
      return file!.sink();
    case 'fifo': {
      const fifo = await openOutputFifo(target.path, what);
      log.debug({ path: target.path, mode: fifo.mode }, `${what} FIFO opened`);
      return new FifoSink(fifo.socket, `${what} ${target.path}`, log);
    }
  }
}

function destroySocket(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.destroy();
  return closed;
}
