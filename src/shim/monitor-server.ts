// The per-sandbox management endpoint (Kata's "shim-monitor"): plain HTTP/1.1 on a unix
// socket under the sandbox's state directory. GET /metrics is Prometheus text (the shim,
// the hypervisor and the guest); /sandbox-metadata says which pod this is (for
// kata-monitor's labels); /sizing why the VM has the size it has; /agent-url where its
// agent listens; an upgrade on /debug-console relays a shell in the guest.
import { createServer, type Server } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { PROM_TEXT_CONTENT_TYPE } from '../metrics/prom-text.js';
import type { SandboxMetadata } from '../metrics/pod-labels.js';
import { sandboxStateDir } from '../sandbox/state-store.js';
import { serveUpgrade, type OpenDebugConsole } from './debug-console-endpoint.js';

export const MONITOR_SOCKET = 'shim-monitor.sock';

export const monitorSocketPath = (sandboxId: string, stateRoot?: string): string => join(sandboxStateDir(sandboxId, stateRoot), MONITOR_SOCKET);

export interface MonitorSource {
  sizingReport(): unknown;
  agentUrl(): string;
  metrics(): Promise<string>;
  metadata(): SandboxMetadata;
  /** `kata-runtime exec`: a shell in the VM (debug-console-endpoint.ts). */
  debugConsole: OpenDebugConsole;
}

export interface MonitorServer {
  readonly path: string;
  close(): Promise<void>;
}

const ENDPOINTS = ['/metrics', '/sandbox-metadata', '/sizing', '/agent-url'];

export async function startMonitorServer(path: string, source: MonitorSource): Promise<MonitorServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const fail = (err: unknown): void => send(500, 'text/plain', `${(err as Error).message}\n`);
    if (req.method !== 'GET') return send(405, 'text/plain', `method ${req.method} not allowed\n`);
    const json = (v: unknown): void => send(200, 'application/json', `${JSON.stringify(v, null, 2)}\n`);
    try {
      switch (new URL(req.url ?? '/', 'http://shim').pathname) {
        case '/metrics':
          return void source.metrics().then((text) => send(200, PROM_TEXT_CONTENT_TYPE, text), fail);
        case '/sandbox-metadata':
          return json(source.metadata());
        case '/sizing':
          return json(source.sizingReport());
        case '/agent-url':
          return send(200, 'text/plain', `${source.agentUrl()}\n`);
        default:
          return send(404, 'text/plain', `no such endpoint ${req.url}; try ${ENDPOINTS.join(', ')}\n`);
      }
    } catch (err) {
      return fail(err);
    }
  });
  // Upgraded connections are no longer HTTP ones: closeAllConnections() leaves them, and close() would wait for them.
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    upgraded.add(socket.once('close', () => upgraded.delete(socket)));
    serveUpgrade(req, socket, head, source.debugConsole);
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
      for (const socket of upgraded) socket.destroy();
      await closed;
      await rm(path, { force: true });
    },
  };
}
