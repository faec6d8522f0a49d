// `kata-runtime exec <sandbox-id>`: a shell in the sandbox's VM through the agent's debug
// console (Kata's kata-exec.go). The shim relays it on its management socket
// (src/shim/debug-console-endpoint.ts). Bytes are copied raw both ways; the local terminal,
// when stdin is one, is raw for the session and restored after it.
import type { Socket } from 'node:net';
import { DEBUG_CONSOLE_PATH, DEBUG_CONSOLE_UPGRADE } from '../shim/debug-console-endpoint.js';
import { monitorSocketOf, upgradeOnShim } from '../shim/monitor-client.js';

/** The process's terminal as exec needs it; process.stdin/stdout in the CLI, fakes in tests. */
export interface TerminalIo {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; rows?: number; columns?: number };
  readonly term: string | undefined;
}

/** Sent when piped input ends: the shell's terminal reads it as end of input, so `echo cmd | kata-runtime exec` ends. */
const EOT = Buffer.from([0x04]);

export async function execDebugConsole(sandboxId: string, t: TerminalIo, stateRoot?: string): Promise<void> {
  const socketPath = monitorSocketOf(sandboxId, stateRoot);
  const tty = t.stdout.isTTY === true;
  const query = new URLSearchParams({
    rows: String(tty ? (t.stdout.rows ?? 0) : 0),
    cols: String(tty ? (t.stdout.columns ?? 0) : 0),
    term: t.term ?? '',
  });
  const { socket, head } = await upgradeOnShim(socketPath, `${DEBUG_CONSOLE_PATH}?${query}`, DEBUG_CONSOLE_UPGRADE);
  const raw = t.stdin.isTTY === true && typeof t.stdin.setRawMode === 'function';
  const restore = (): void => void (raw && t.stdin.setRawMode?.(false));
  // Raw, a terminal sends no SIGINT: only a signal from elsewhere ends us, with the terminal restored.
  const onSignal = (signal: NodeJS.Signals): void => {
    restore();
    process.kill(process.pid, signal);
  };
  if (raw) {
    t.stdin.setRawMode?.(true);
    process.once('SIGTERM', onSignal).once('SIGHUP', onSignal);
  }
  try {
    await relay(socket, head, t);
  } finally {
    restore();
    process.off('SIGTERM', onSignal).off('SIGHUP', onSignal);
  }
}

function relay(socket: Socket, head: Buffer, t: TerminalIo): Promise<void> {
  return new Promise((resolve) => {
    if (head.length > 0) t.stdout.write(head);
    socket.pipe(t.stdout, { end: false });
    t.stdin.pipe(socket, { end: false });
    const onEnd = (): void => void socket.write(EOT);
    t.stdin.once('end', onEnd);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      t.stdin.unpipe(socket);
      t.stdin.off('end', onEnd);
      // Stop reading, so the process can exit while stdin stays open.
      t.stdin.pause();
      resolve();
    });
  });
}
