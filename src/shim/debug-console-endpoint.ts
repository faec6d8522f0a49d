// `kata-runtime exec`'s way into the VM: an HTTP upgrade on the management socket,
//   GET /debug-console?rows=R&cols=C&term=T  with  Connection: Upgrade, Upgrade: kata-debug-console
// answered by 101 and then the raw bytes of the guest shell's terminal both ways, or by an
// error status whose body says why (not enabled: 403, busy: 409, VM not running: 409/503).
// Kata's kata-runtime dials the guest's vsock port 1026 itself; without vsock the shim,
// which owns the VM, relays the session instead.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Code, toRuntimeError } from '../errors/index.js';
import { debugConsoleRequest, type DebugConsoleRequest } from '../sandbox/debug-console.js';

export const DEBUG_CONSOLE_PATH = '/debug-console';
export const DEBUG_CONSOLE_UPGRADE = 'kata-debug-console';

export type OpenDebugConsole = (req: DebugConsoleRequest) => Promise<Duplex>;

/** The client's terminal from the query; anything unusable means "no terminal" / the default TERM. Pure. */
export function consoleRequestFromUrl(url: string): DebugConsoleRequest {
  const q = new URL(url, 'http://shim').searchParams;
  return debugConsoleRequest(Number(q.get('rows')), Number(q.get('cols')), q.get('term') ?? undefined);
}

/** HTTP status for a refusal. Pure. */
export function consoleRefusalStatus(code: Code): number {
  switch (code) {
    case Code.PERMISSION_DENIED:
      return 403;
    case Code.ALREADY_EXISTS:
    case Code.FAILED_PRECONDITION:
      return 409;
    case Code.INVALID_ARGUMENT:
      return 400;
    case Code.NOT_FOUND:
      return 404;
    case Code.DEADLINE_EXCEEDED:
      return 504;
    case Code.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

const REASON: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function reply(socket: Duplex, status: number, body: string): void {
  const text = `${body}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${REASON[status] ?? 'Error'}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

/** Handles one upgrade request of the management server. */
export function serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, open: OpenDebugConsole): void {
  socket.on('error', () => socket.destroy());
  const path = new URL(req.url ?? '/', 'http://shim').pathname;
  if (path !== DEBUG_CONSOLE_PATH) return reply(socket, 404, `no upgrade at ${path}; the debug console is ${DEBUG_CONSOLE_PATH}`);
  if (req.headers.upgrade?.toLowerCase() !== DEBUG_CONSOLE_UPGRADE) {
    return reply(socket, 426, `${DEBUG_CONSOLE_PATH} needs Upgrade: ${DEBUG_CONSOLE_UPGRADE}`);
  }
  void open(consoleRequestFromUrl(req.url ?? '/')).then(
    (shell) => relay(socket, head, shell),
    (err: unknown) => {
      const e = toRuntimeError(err);
      reply(socket, consoleRefusalStatus(e.code), e.message);
    },
  );
}

/** Raw bytes both ways; the client's end of input is not the end of the session, the shell's end is. */
function relay(socket: Duplex, head: Buffer, shell: Duplex): void {
  if (socket.destroyed) return void shell.destroy();
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${DEBUG_CONSOLE_UPGRADE}\r\n\r\n`);
  if (head.length > 0) shell.write(head);
  socket.pipe(shell);
  shell.pipe(socket);
  shell.on('error', () => socket.destroy());
  shell.once('close', () => socket.end());
  socket.once('close', () => shell.destroy());
}
