// Kata's debug console (kernel parameter agent.debug_console): a shell on a new pty for
// each host session on the virtio-serial port agent.debug_console.0. The host adds that
// port only with debug_console_enabled; without the parameter the agent never opens it.
// The pty comes from busybox `telnetd -i` (Node cannot allocate one; see tty-session.ts),
// without -K, so a session ends once the shell and everything it left on the terminal are
// gone and their output was relayed. The bytes on the port: src/agent/debug-console-protocol.ts.
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import { ConsoleOpenDecoder, DEBUG_CONSOLE_PORT, encodeFrames, readyLine, type ConsoleOpen } from '../agent/debug-console-protocol.js';
import { serveSerialPort, servePort, type PortIo, type SerialChannel } from './serial-channel.js';
import { spawnOnPty, type PtyProcess } from './tty-session.js';

export interface DebugConsoleOptions {
  /** busybox telnetd and its leading arguments. */
  readonly telnetd: readonly string[];
  /** Kata tries /bin/bash, then /bin/sh; the guest image has busybox sh. */
  readonly shell: string;
  readonly log: Logger;
}

/** Finds the port and serves it; undefined (with a warning) when the VM has none. */
export async function startDebugConsole(o: DebugConsoleOptions): Promise<SerialChannel | undefined> {
  try {
    const channel = await serveSerialPort(DEBUG_CONSOLE_PORT, (s) => consoleSession(s, o), o.log);
    o.log.info({ port: DEBUG_CONSOLE_PORT, shell: o.shell }, 'debug console enabled');
    return channel;
  } catch (err) {
    // The agent's job comes first: a console that cannot start never stops the agent.
    o.log.warn({ err: (err as Error).message }, 'agent.debug_console is set but the debug console cannot be served');
    return undefined;
  }
}

/** The same on any port (tests use a fake one). */
export function serveDebugConsole(port: PortIo, o: DebugConsoleOptions, idlePollMs?: number): SerialChannel {
  return servePort(port, (s) => consoleSession(s, o), o.log, idlePollMs);
}

/**
 * One host session. Input before an open line is dropped (so is input after the shell
 * ended, up to a new open line: a host that reconnects faster than the guest notices the
 * disconnection still gets a shell).
 */
export function consoleSession(stream: Duplex, o: DebugConsoleOptions): void {
  const opening = new ConsoleOpenDecoder((err) => o.log.warn({ err: err.message }, 'debug console: bad open line ignored'));
  let shell: PtyProcess | undefined;
  let ended = false;

  const start = (open: ConsoleOpen, rest: Buffer): void => {
    const pty = spawnOnPty(
      {
        telnetd: o.telnetd,
        program: o.shell,
        endWithProgram: false,
        size: open,
        spawn: { cwd: '/', env: { PATH: '/usr/bin:/usr/sbin:/bin:/sbin', HOME: '/root', TERM: open.term, SHELL: o.shell } },
      },
      (data) => {
        if (data.length === 0 || ended || !stream.writable) return true;
        let ok = true;
        for (const b of encodeFrames({ type: 'output', data })) ok = stream.write(b) && ok;
        return ok;
      },
    );
    shell = pty;
    const child = pty.child;
    const log = o.log.child({ session: open.nonce.slice(0, 8) });
    log.info({ pid: child.pid, rows: open.rows, cols: open.cols, term: open.term }, 'debug console session started');
    child.stderr?.resume();
    child.once('error', (err) => log.warn({ err: err.message }, 'debug console shell could not start'));
    stream.write(readyLine(open.nonce));
    if (rest.length > 0) void pty.write(rest).catch(() => undefined);
    stream.on('drain', () => pty.resume());
    child.once('close', (code, signal) => {
      if (shell === pty) shell = undefined;
      log.info({ code, signal }, 'debug console session ended');
      if (!ended && stream.writable) for (const b of encodeFrames({ type: 'exit' })) stream.write(b);
    });
  };

  const receive = (chunk: Buffer): void => {
    if (shell) {
      void shell.write(chunk).catch(() => undefined);
      return;
    }
    const opened = opening.push(chunk);
    if (opened) start(opened.open, opened.rest);
  };

  stream.on('data', receive);
  const hangUp = (): void => {
    if (ended) return;
    ended = true;
    // Closing telnetd's pty hangs up the shell (SIGHUP), as closing a terminal does.
    shell?.child.kill('SIGKILL');
  };
  stream.once('end', hangUp);
  stream.once('close', hangUp);
  // Every error, not once: a write racing the disconnection fails too.
  stream.on('error', hangUp);
}
