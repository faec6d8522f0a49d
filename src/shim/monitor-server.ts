// The per-sandbox management endpoint (Kata's "shim-monitor"): plain HTTP/1.1 on a unix
// socket under the sandbox's state directory. GET /sizing answers why the VM has the
// size it has; GET /agent-url where its agent listens.
import { createServer, type Server } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxStateDir } from '../sandbox/state-store.js';

export const MONITOR_SOCKET = 'shim-monitor.sock';

export const monitorSocketPath = (sandboxId: string, stateRoot?: string): string => join(sandboxStateDir(sandboxId, stateRoot), MONITOR_SOCKET);

export interface MonitorSource {
  sizingReport(): unknown;
  agentUrl(): string;
}

export interface MonitorServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startMonitorServer(path: string, source: MonitorSource): Promise<MonitorServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', `method ${req.method} not allowed\n`);
    try {
      switch (req.url) {
        case '/sizing':
          return send(200, 'application/json', `${JSON.stringify(source.sizingReport(), null, 2)}\n`);
        case '/agent-url':
          return send(200, 'text/plain', `${source.agentUrl()}\n`);
        default:
          return send(404, 'text/plain', `no such endpoint ${req.url}; try /sizing or /agent-url\n`);
      }
    } catch (err) {
      return send(500, 'text/plain', `${(err as Error).message}\n`);
    }
  });
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return {
    path,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await rm(path, { force: true });
    },
  };
}
