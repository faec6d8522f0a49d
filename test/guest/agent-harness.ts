// Runs the guest agent in-process in test mode (unix socket, private state dir, runc
// root and cgroup parent) and gives typed clients for grpc.AgentService and grpc.Health.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { grpc_AgentService, grpc_Health } from '../../src/gen/services.js';
import { parseArgs } from '../../src/guest/args.js';
import { startAgent, type RunningAgent } from '../../src/guest/main.js';
import { createLogger } from '../../src/log/logger.js';
import { connectUnix, serviceClient, type ServiceClient, type TtrpcClient } from '../../src/ttrpc/index.js';
import { RuntimeError } from '../../src/errors/index.js';
import { cgroupMounts } from '../../src/guest/cgroup-parent.js';
import { mountedPaths } from '../../src/guest/storage.js';

export interface Harness {
  dir: string;
  stateDir: string;
  sharedDir: string;
  /** The agent's --sandbox-dir: the pod's namespace files go to <sandboxDir>/ns. */
  sandboxDir: string;
  cgroupParent: string;
  running: RunningAgent;
  conn: TtrpcClient;
  agent: ServiceClient<typeof grpc_AgentService>;
  health: ServiceClient<typeof grpc_Health>;
  /** Stops the agent, checks nothing is left behind, removes the temp dir. */
  close(): Promise<void>;
}

export async function startHarness(extraArgs: string[] = []): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'kata-agent-test-'));
  const stateDir = join(dir, 'state');
  const sharedDir = join(dir, 'shared');
  const sandboxDir = join(dir, 'sandbox');
  mkdirSync(sharedDir);
  const cgroupParent = `/kata-agent-test-${process.pid}`;
  const sock = join(dir, 'agent.sock');
  const args = parseArgs([
    ...['--listen', `unix://${sock}`, '--state-dir', stateDir, '--shared-dir', sharedDir, '--sandbox-dir', sandboxDir, '--cgroup-parent', cgroupParent],
    ...extraArgs,
  ]);
  const log = createLogger({ level: (process.env['KATA_AGENT_TEST_LOG'] as 'debug' | undefined) ?? 'silent' });
  const running = await startAgent(args, log);
  const conn = await connectUnix(sock);
  return {
    dir,
    stateDir,
    sharedDir,
    sandboxDir,
    cgroupParent,
    running,
    conn,
    agent: serviceClient(conn, grpc_AgentService),
    health: serviceClient(conn, grpc_Health),
    async close() {
      await conn.close();
      await running.stop();
      const runcRoot = join(stateDir, 'runc');
      if (existsSync(runcRoot)) {
        const list = execFileSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' }).trim();
        expect(list, 'runc containers left behind').toBe('');
      }
      const leftovers = (await cgroupMounts()).map((m) => join(m, cgroupParent)).filter((p) => existsSync(p));
      expect(leftovers, 'cgroups left behind').toEqual([]);
      const mounts = [...(await mountedPaths())].filter((m) => m.startsWith(`${dir}/`));
      expect(mounts, 'mounts (namespace files, storages) left behind').toEqual([]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Expects `p` to fail with gRPC `code`, and its message to match `message` when given. */
export async function expectCode(p: Promise<unknown>, code: number, message?: RegExp): Promise<RuntimeError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'call should have failed').toBeInstanceOf(RuntimeError);
  const e = err as RuntimeError;
  expect({ code: e.code, message: e.message }).toMatchObject({ code });
  if (message) expect(e.message).toMatch(message);
  return e;
}

type Stream = 'ReadStdout' | 'ReadStderr';

/** Reads a process stream until EOF (empty data). */
export async function readToEnd(h: Harness, containerId: string, execId: string, stream: Stream = 'ReadStdout', len = 65536): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const { data } = await h.agent[stream]({ containerId, execId, len });
    if (data.length === 0) return Buffer.concat(parts);
    expect(data.length).toBeLessThanOrEqual(len);
    parts.push(Buffer.from(data));
  }
}

/** Reads until the text seen so far contains `needle` (or EOF). */
export async function readUntil(h: Harness, containerId: string, execId: string, needle: string): Promise<string> {
  let text = '';
  while (!text.includes(needle)) {
    const { data } = await h.agent.ReadStdout({ containerId, execId, len: 4096 });
    if (data.length === 0) break;
    text += Buffer.from(data).toString('utf8');
  }
  return text;
}
