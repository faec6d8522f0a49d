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
import { spawn } from 'node:child_process';
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
  const [file, ...lead] = opts.telnetd;
  // -K: end when the wrapper exits; -f /dev/null: no issue file.
  const child = spawn(file as string, [...lead, '-i', '-K', '-f', '/dev/null', '-l', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);
  const stderrTail = keepTail(child.stderr);
  const failedSpawn = spawnError(child, { file: file as string, args: lead });
  const diagnostics = (): string => [failedSpawn(), stderrTail()].filter(Boolean).join('; ');

  const decoder = new TelnetDecoder();
  const preamble = new PreambleStripper(READY_MARKER);
  const stdout = new PassThrough();
  child.stdout?.on('data', (chunk: Buffer) => {
    // Cut off after the exit drain (OutputBuffer.endAfter): stop relaying for good.
    if (stdout.destroyed) return void child.stdout?.destroy();
    const data = preamble.strip(decoder.decode(chunk));
    if (data.length > 0 && !stdout.write(data)) child.stdout?.pause();
  });
  stdout.on('drain', () => child.stdout?.resume());
  child.stdout?.once('end', () => stdout.end());
  child.stdout?.once('error', () => stdout.end());

  const resize = (rows: number, cols: number): void => {
    void writeTo(child, nawsFrame(rows, cols)).catch(() => undefined);
  };
  if (opts.size && opts.size.rows > 0 && opts.size.cols > 0) resize(opts.size.rows, opts.size.cols);

  const status = exitStatus(child).then(async (telnetdStatus) => {
    const recorded = await readFile(statusFile, 'utf8').catch(() => '');
    const n = Number.parseInt(recorded.trim(), 10);
    return Number.isInteger(n) ? n : telnetdStatus === 0 ? 255 : telnetdStatus;
  });

  return {
    child,
    stdout,
    stderr: undefined,
    write: (data) => writeTo(child, encodeInput(data)),
    // Closing telnetd's input would end the session and hang up the terminal under the
    // running process; like Kata's agent, closing stdin of a terminal changes nothing.
    closeStdin: () => undefined,
    resize,
    status,
    diagnostics,
  };
}
