// Terminal processes (Process.Terminal). A foreground runc with a terminal insists that
// its own stdio is a tty (it fails with "open /dev/tty: no such device or address" on
// pipes), and the detached alternative hands the pty master over a unix socket with
// SCM_RIGHTS, which Node cannot receive. Node cannot allocate a pty either. busybox
// `telnetd -i` can: it creates a pty, runs a program on it as session leader with the
// pty as controlling terminal, and relays it over its stdin/stdout with telnet framing.
// So the agent runs `telnetd -i -l <wrapper>` with pipes, and the wrapper runs the
// foreground runc, which uses telnetd's pty as its console and allocates the container's
// own pty. Window sizes travel as telnet NAWS: telnetd sets them on its pty, the kernel
// sends runc SIGWINCH and runc copies the size to the container's terminal. The wrapper
// records runc's exit status in a file, since telnetd does not report it.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { exitStatus, keepTail, spawnError, writeTo, type Command, type LaunchedProcess } from './launch.js';
import { PreambleStripper, TelnetDecoder, encodeInput, nawsFrame } from './telnet.js';

/** Printed by the wrapper once its terminal is raw: everything before it is telnetd's greeting. */
export const READY_MARKER = 'KATA-AGENT-TTY-READY';

export interface TtyOptions {
  /** telnetd and its leading arguments, e.g. ['busybox', 'telnetd']. */
  telnetd: string[];
  /** Directory for the wrapper script and the status file (executable, private). */
  dir: string;
  /** Initial size, from Process.ConsoleSize. */
  size?: { rows: number; cols: number };
}

export interface PtyOptions {
  /** telnetd and its leading arguments, e.g. ['busybox', 'telnetd']. */
  readonly telnetd: readonly string[];
  /** What telnetd runs on the pty (a path: -l takes no arguments). */
  readonly program: string;
  /** -K: telnetd ends when the program exits, even while others still hold the terminal. */
  readonly endWithProgram: boolean;
  /** Initial size; none unless both are > 0. */
  readonly size?: { readonly rows: number; readonly cols: number } | undefined;
  readonly spawn?: Pick<SpawnOptions, 'cwd' | 'env'>;
}

/** A program on a pty of its own: what is written is typed, sizes travel as NAWS. */
export interface PtyProcess {
  /** telnetd; its stderr is the caller's to read. */
  readonly child: ChildProcess;
  write(data: Uint8Array): Promise<void>;
  resize(rows: number, cols: number): void;
  /** Reads the terminal's output again after `onOutput` asked for a pause. */
  resume(): void;
}

/**
 * Runs `telnetd -i -l program`; `onOutput` gets the terminal's output without telnet's framing
 * (possibly empty) and returns false to pause it until `resume()`.
 */
export function spawnOnPty(o: PtyOptions, onOutput: (data: Buffer) => boolean): PtyProcess {
  const [file, ...lead] = o.telnetd;
  // -f /dev/null: no issue file.
  const child = spawn(file as string, [...lead, '-i', ...(o.endWithProgram ? ['-K'] : []), '-f', '/dev/null', '-l', o.program], { ...o.spawn, stdio: ['pipe', 'pipe', 'pipe'] });
  // EOF on telnetd's stdin would end the session: stdin is only written, never ended.
  child.stdin?.on('error', () => undefined);
  const decoder = new TelnetDecoder();
  child.stdout?.on('data', (chunk: Buffer) => {
    if (!onOutput(decoder.decode(chunk))) child.stdout?.pause();
  });
  const resize = (rows: number, cols: number): void => {
    void writeTo(child, nawsFrame(rows, cols)).catch(() => undefined);
  };
  if (o.size && o.size.rows > 0 && o.size.cols > 0) resize(o.size.rows, o.size.cols);
  return { child, write: (data) => writeTo(child, encodeInput(data)), resize, resume: () => child.stdout?.resume() };
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function wrapperScript(cmd: Command, statusFile: string): string {
  return [
    '#!/bin/sh',
    '# Started by busybox telnetd on a new pty; see the kata agent source, tty-session.ts.',
    // Raw before anything else: host input that arrives before runc starts must not be echoed or cooked.
    'stty raw -echo 2>/dev/null',
    `printf '%s\\n' ${quote(READY_MARKER)}`,
    [cmd.file, ...cmd.args].map(quote).join(' '),
    `echo $? > ${quote(statusFile)}`,
    '',
  ].join('\n');
}

export async function launchOnTerminal(cmd: Command, opts: TtyOptions): Promise<LaunchedProcess> {
  const script = join(opts.dir, 'tty.sh');
  const statusFile = join(opts.dir, 'tty.status');
  await writeFile(script, wrapperScript(cmd, statusFile), { mode: 0o700 });
  const preamble = new PreambleStripper(READY_MARKER);
  const stdout = new PassThrough();
  // -K: end when the wrapper exits.
  const pty = spawnOnPty({ telnetd: opts.telnetd, program: script, endWithProgram: true, size: opts.size }, (decoded) => {
    // Cut off after the exit drain (OutputBuffer.endAfter): stop relaying for good.
    if (stdout.destroyed) {
      pty.child.stdout?.destroy();
      return true;
    }
    const data = preamble.strip(decoded);
    return data.length === 0 || stdout.write(data);
  });
  const child = pty.child;
  const [file, ...lead] = opts.telnetd;
  const stderrTail = keepTail(child.stderr);
  const failedSpawn = spawnError(child, { file: file as string, args: lead });
  const diagnostics = (): string => [failedSpawn(), stderrTail()].filter(Boolean).join('; ');
  stdout.on('drain', () => pty.resume());
  child.stdout?.once('end', () => stdout.end());
  child.stdout?.once('error', () => stdout.end());

  const status = exitStatus(child).then(async (telnetdStatus) => {
    const recorded = await readFile(statusFile, 'utf8').catch(() => '');
    const n = Number.parseInt(recorded.trim(), 10);
    return Number.isInteger(n) ? n : telnetdStatus === 0 ? 255 : telnetdStatus;
  });

  return {
    child,
    stdout,
    stderr: undefined,
    write: pty.write,
    // Closing telnetd's input would end the session and hang up the terminal under the
    // running process; like Kata's agent, closing stdin of a terminal changes nothing.
    closeStdin: () => undefined,
    resize: pty.resize,
    status,
    diagnostics,
  };
}
