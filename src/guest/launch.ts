// How a container process is started: a foreground runc (run or exec) as the agent's
// own child, which gives WaitProcess exit codes although Node cannot wait for processes
// it did not spawn: runc exits with the process's status (128+n for signal n), and logs
// it earlier still (runc-exit-log.ts). runc copies stdio between our pipes and pipes of
// its own that the container process writes to.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { signalNumber } from './signals.js';

/** A started launcher (runc, or telnetd around runc for a terminal). */
export interface LaunchedProcess {
  readonly child: ChildProcess;
  readonly stdout: Readable;
  /** undefined for a terminal: it has one output stream. */
  readonly stderr: Readable | undefined;
  write(data: Uint8Array): Promise<void>;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** The container process's exit status, once the launcher is gone. */
  readonly status: Promise<number>;
  /** The launcher's own diagnostics (stderr), for start failures. */
  diagnostics(): string;
}

export interface Command {
  file: string;
  args: string[];
}

const DIAG_BYTES = 4096;

/** Pipes for stdin, stdout and stderr (a process without a terminal). */
export function launchWithPipes(cmd: Command): LaunchedProcess {
  const child = spawn(cmd.file, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  // A write racing the process's exit fails with EPIPE: reported by write(), not fatal.
  child.stdin?.on('error', () => undefined);
  return {
    child,
    stdout: child.stdout as Readable,
    stderr: child.stderr as Readable,
    write: (data) => writeTo(child, data),
    closeStdin: () => child.stdin?.end(),
    resize: () => undefined,
    status: exitStatus(child),
    // runc explains itself in its --log file; only a failed spawn is left to tell.
    diagnostics: spawnError(child, cmd),
  };
}

export function writeTo(child: ChildProcess, data: Uint8Array): Promise<void> {
  const stdin = child.stdin;
  if (!stdin || stdin.writableEnded || stdin.destroyed) return Promise.reject(new Error('stdin is closed'));
  return new Promise((resolve, reject) => stdin.write(data, (err) => (err ? reject(err) : resolve())));
}

/** Exit code, 128+n when killed by signal n, 255 when it could not be spawned. */
export async function exitStatus(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return child.exitCode;
  if (child.signalCode !== null) return 128 + signalNumber(child.signalCode);
  // once() rejects on 'error' (a spawn failure), which is a status here, not a failure.
  const result = await (once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>).catch(() => [255, null] as [number, null]);
  const [code, signal] = result;
  if (code !== null) return code;
  return signal ? 128 + signalNumber(signal) : 255;
}

/** "cannot run <file>: <reason>" once spawning failed, else ''. */
export function spawnError(child: ChildProcess, cmd: Command): () => string {
  let message = '';
  child.once('error', (err) => (message = `cannot run ${cmd.file}: ${err.message}`));
  return () => message;
}

/** Keeps the tail of a stream for error messages. */
export function keepTail(stream: Readable | null | undefined): () => string {
  let tail = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (s: string) => {
    tail = (tail + s).slice(-DIAG_BYTES);
  });
  return () => tail.trim();
}
