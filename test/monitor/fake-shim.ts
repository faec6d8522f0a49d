// A shim's management socket without a shim: the real endpoint (startMonitorServer) over a
// canned source, whose /metrics may never answer.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SandboxMetadata } from '../../src/metrics/pod-labels.js';
import { monitorSocketPath, startMonitorServer } from '../../src/shim/monitor-server.js';

export interface FakeShimOptions {
  metrics?: string;
  metadata?: unknown;
  /** /metrics never answers. */
  hang?: boolean;
}

export interface FakeShim {
  /** GETs served so far, by path. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startFakeShim(root: string, sandboxId: string, o: FakeShimOptions): Promise<FakeShim> {
  const path = monitorSocketPath(sandboxId, root);
  mkdirSync(dirname(path), { recursive: true });
  const requests: string[] = [];
  const served = <T>(endpoint: string, answer: () => T): T => {
    requests.push(endpoint);
    return answer();
  };
  const server = await startMonitorServer(path, {
    metrics: () => served('/metrics', () => (o.hang ? new Promise<string>(() => {}) : Promise.resolve(o.metrics ?? ''))),
    metadata: () => served('/sandbox-metadata', () => (o.metadata ?? { sandboxId }) as SandboxMetadata),
    agentUrl: () => served('/agent-url', () => `serial:///run/vc/vm/${sandboxId}/kata.sock`),
    sizingReport: () => served('/sizing', () => ({})),
    debugConsole: () => Promise.reject(new Error('no debug console in this fake shim')),
  });
  return { requests, close: () => server.close() };
}
