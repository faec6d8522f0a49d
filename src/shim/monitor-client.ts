// The other side of monitor-server.ts: one GET, or one upgrade, on a sandbox's management
// socket, for kata-runtime and kata-monitor. Errors say which socket and why, in a user's words.
import { request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Code, RuntimeError, invalidArgument } from '../errors/index.js';
import { monitorSocketPath } from './monitor-server.js';

const MONITOR_TIMEOUT_MS = 5_000;

/** containerd's identifier rule (pkg/identifiers): every sandbox id containerd accepts, and nothing that walks out of a directory. */
const SANDBOX_ID = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const MAX_SANDBOX_ID = 76;

/** The management socket of the sandbox a user named; the id becomes a path, so it is checked first (INVALID_ARGUMENT). */
export function monitorSocketOf(sandboxId: string, stateRoot?: string): string {
  if (sandboxId.length > MAX_SANDBOX_ID || !SANDBOX_ID.test(sandboxId)) throw invalidArgument(`invalid sandbox id ${JSON.stringify(sandboxId)}`);
  return monitorSocketPath(sandboxId, stateRoot);
}

type Answer = { readonly kind: 'response'; readonly status: number; readonly body: string } | { readonly kind: 'upgrade'; readonly socket: Socket; readonly head: Buffer };

/** One GET; a missing or refused socket means the sandbox does not run (UNAVAILABLE). `timeoutMs` bounds the exchange until its answer. */
function ask(socketPath: string, path: string, headers: OutgoingHttpHeaders, timeoutMs: number | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers });
    // The whole exchange is bounded, not just idle time: a shim that trickles counts as hung.
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => req.destroy(new RuntimeError(Code.DEADLINE_EXCEEDED, `${socketPath}: GET ${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      clearTimeout(timer);
      resolve({ kind: 'upgrade', socket, head });
    });
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('error', (err) => reject(new RuntimeError(Code.UNAVAILABLE, `${socketPath}: ${err.message}`)));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ kind: 'response', status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err instanceof RuntimeError) return reject(err);
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'no running sandbox has this id (no shim-monitor socket)' : err.message;
      reject(new RuntimeError(Code.UNAVAILABLE, `${socketPath}: ${why}`));
    });
    req.end();
  });
}

/** The body of GET `path`; rejects on a refused or missing socket (UNAVAILABLE), a timeout (DEADLINE_EXCEEDED) or a non-200 answer. */
export async function getFromShim(socketPath: string, path: string, timeoutMs = MONITOR_TIMEOUT_MS): Promise<string> {
  const a = await ask(socketPath, path, {}, timeoutMs);
  if (a.kind === 'upgrade') {
    a.socket.destroy();
    throw new RuntimeError(Code.INTERNAL, `${socketPath}: GET ${path}: the shim switched protocols`);
  }
  if (a.status !== 200) throw new RuntimeError(Code.INTERNAL, `${socketPath}: GET ${path}: HTTP ${a.status}: ${a.body.trim()}`);
  return a.body;
}

/**
 * GET `path` upgraded to `protocol`: the raw connection once the shim answers 101. Unbounded in
 * time (the shim answers once what it opens is ready). Any other answer is refused with the
 * shim's own words, which are meant for the user.
 */
export async function upgradeOnShim(socketPath: string, path: string, protocol: string): Promise<{ socket: Socket; head: Buffer }> {
  const a = await ask(socketPath, path, { connection: 'Upgrade', upgrade: protocol }, undefined);
  if (a.kind === 'upgrade') return a;
  throw new RuntimeError(a.status === 403 ? Code.PERMISSION_DENIED : Code.UNAVAILABLE, a.body.trim() || `HTTP ${a.status}`);
}
