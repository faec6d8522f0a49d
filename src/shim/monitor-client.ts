// The other side of monitor-server.ts: one GET on a sandbox's management socket, for
// kata-runtime and kata-monitor. Errors say which socket and why, in a user's words.
import { request } from 'node:http';
import { Code, RuntimeError } from '../errors/index.js';

export const MONITOR_TIMEOUT_MS = 5_000;

/** The body of GET `path`; rejects on a refused or missing socket (UNAVAILABLE), a timeout (DEADLINE_EXCEEDED) or a non-200 answer. */
export function getFromShim(socketPath: string, path: string, timeoutMs = MONITOR_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('error', (err) => reject(new RuntimeError(Code.UNAVAILABLE, `${socketPath}: ${err.message}`)));
      res.on('end', () => {
        clearTimeout(timer);
        if (res.statusCode !== 200) return reject(new RuntimeError(Code.INTERNAL, `${socketPath}: GET ${path}: HTTP ${res.statusCode}: ${body.trim()}`));
        resolve(body);
      });
    });
    // The whole exchange is bounded, not just idle time: a shim that trickles counts as hung.
    const timer = setTimeout(() => req.destroy(new RuntimeError(Code.DEADLINE_EXCEEDED, `${socketPath}: GET ${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err instanceof RuntimeError) return reject(err);
      const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'no running sandbox has this id (no shim-monitor socket)' : err.message;
      reject(new RuntimeError(Code.UNAVAILABLE, `${socketPath}: ${why}`));
    });
    req.end();
  });
}
