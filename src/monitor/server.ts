// kata-monitor's HTTP endpoints, as Kata's: /metrics (the node; ?sandbox=ID for one
// sandbox's own text), /sandboxes (one id per line), /agent-url?sandbox=ID.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, RuntimeError } from '../errors/index.js';
import { PROM_TEXT_CONTENT_TYPE } from '../metrics/prom-text.js';
import type { KataMonitor } from './kata-monitor.js';

export interface ListenAddress {
  /** '' listens on every address, as Go's ":8090" does. */
  readonly host: string;
  readonly port: number;
}

export interface MonitorHttpServer {
  /** Where it listens, the port resolved (port 0 picks a free one). */
  readonly address: string;
  close(): Promise<void>;
}

export async function startMonitorHttp(monitor: KataMonitor, listen: ListenAddress): Promise<MonitorHttpServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    // A bad request is the caller's (400); a shim that fails is a bad gateway (502).
    const fail = (status: number) => (err: unknown) =>
      send(err instanceof RuntimeError && err.code === Code.INVALID_ARGUMENT ? 400 : status, 'text/plain', `${(err as Error).message}\n`);
    if (req.method !== 'GET') return send(405, 'text/plain', `method ${req.method} not allowed\n`);
    const url = new URL(req.url ?? '/', 'http://monitor');
    const sandbox = url.searchParams.get('sandbox');
    switch (url.pathname) {
      case '/metrics':
        return void (sandbox ? monitor.sandboxMetrics(sandbox) : monitor.metrics()).then((t) => send(200, PROM_TEXT_CONTENT_TYPE, t), fail(sandbox ? 502 : 500));
      case '/sandboxes':
        return void monitor.sandboxes().then((ids) => send(200, 'text/plain', ids.map((id) => `${id}\n`).join('')), fail(500));
      case '/agent-url':
        if (!sandbox) return send(400, 'text/plain', 'agent-url needs ?sandbox=<id>\n');
        return void monitor.agentUrl(sandbox).then((u) => send(200, 'text/plain', `${u}\n`), fail(502));
      default:
        return send(404, 'text/plain', `no such endpoint ${url.pathname}; try /metrics, /sandboxes, /agent-url?sandbox=<id>\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host || undefined, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
