// The agent as an executable (shim/kata-agent.ts through tsx), as the guest's init
// starts it: serves on its socket, and on SIGTERM removes its containers and exits 0.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { grpc } from '../../src/gen/proto.js';
import { grpc_AgentService, grpc_Health } from '../../src/gen/services.js';
import { cgroupMounts, removeCgroupParent } from '../../src/guest/cgroup-parent.js';
import { connectUnix, serviceClient } from '../../src/ttrpc/index.js';
import { grpcSpec, makeBusyboxRootfs } from './busybox-bundle.js';

const repo = join(import.meta.dirname, '../..');

describe('kata-agent executable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kata-agent-exe-'));
  let child: ChildProcess | undefined;

  const stateDir = join(dir, 'state');
  const cgroupParent = `/kata-agent-exe-${process.pid}`;

  afterAll(async () => {
    // After a failure the agent may not have cleaned up: kill it and its containers.
    if (child?.pid && child.exitCode === null) child.kill('SIGKILL');
    const runcRoot = join(stateDir, 'runc');
    if (existsSync(runcRoot)) {
      for (const id of execFileSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
        execFileSync('runc', ['--root', runcRoot, 'delete', '--force', id]);
      }
    }
    await removeCgroupParent(cgroupParent);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves on a unix socket and cleans up on SIGTERM', async () => {
    const sock = join(dir, 'agent.sock');
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repo, 'shim/kata-agent.ts'), '--listen', `unix://${sock}`, '--state-dir', stateDir, '--cgroup-parent', cgroupParent, '--log-level', 'info'],
      { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let logs = '';
    child.stderr?.on('data', (b: Buffer) => (logs += b.toString()));
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 200 && !existsSync(sock); i++) await sleep(50);
    expect(existsSync(sock), `agent did not listen; logs: ${logs}`).toBe(true);

    const conn = await connectUnix(sock);
    const agent = serviceClient(conn, grpc_AgentService);
    expect((await serviceClient(conn, grpc_Health).Check({})).status).toBe(grpc.HealthCheckResponse.ServingStatus.SERVING);
    const rootfs = makeBusyboxRootfs(join(dir, 'rootfs'));
    await agent.CreateContainer({ containerId: 'exe-c1', OCI: grpcSpec(rootfs, ['sleep', '1000']) });
    await agent.StartContainer({ containerId: 'exe-c1' });
    const pid = Number(readFileSync(join(stateDir, 'containers/exe-c1/init/pid'), 'utf8'));
    expect(() => process.kill(pid, 0)).not.toThrow();

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await conn.close();
    expect(() => process.kill(pid, 0)).toThrow(); // the container died with the agent's shutdown
    expect(execFileSync('runc', ['--root', join(stateDir, 'runc'), 'list', '-q'], { encoding: 'utf8' }).trim()).toBe('');
    expect((await cgroupMounts()).filter((m) => existsSync(join(m, cgroupParent)))).toEqual([]);
    expect(logs).toContain('"msg":"kata agent stopped"');
  });
});
