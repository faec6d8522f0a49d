// A shim's management socket without a shim: canned /metrics, /sandbox-metadata and
// /agent-url, or a shim that never answers.
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MONITOR_SOCKET } from '../../src/shim/monitor-server.js';

export interface FakeShimOptions {
  metrics?: string;
  metadata?: unknown;
  /** Accepts the connection and never answers. */
  hang?: boolean;
}

export interface FakeShim {
  /** GETs served so far, by path. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeShim(root: string, sandboxId: string, o: FakeShimOptions): Promise<FakeShim> {
  mkdirSync(join(root, sandboxId), { recursive: true });
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (o.hang) return;
    const body = req.url === '/metrics' ? o.metrics ?? '' : req.url === '/sandbox-metadata' ? JSON.stringify(o.metadata ?? { sandboxId }) : req.url === '/agent-url' ? `serial:///run/vc/vm/${sandboxId}/kata.sock\n` : undefined;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(join(root, sandboxId, MONITOR_SOCKET), resolve));
  return {
    requests,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
