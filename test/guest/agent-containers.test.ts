// The guest agent in test mode on this host (root, runc 1.1.5, cgroup v1), driven over
// ttrpc through grpc.AgentService as the shim would: containers, execs, stdio, signals,
// terminals and cgroups on real busybox containers (OOM events: agent-oom.test.ts).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpc } from '../../src/gen/proto.js';
import { processToGrpc } from '../../src/oci/grpc-spec.js';
import { Code } from '../../src/errors/index.js';
import { grpcSpec, makeBusyboxRootfs, ociProcess } from './busybox-bundle.js';
import { expectCode, readToEnd, readUntil, startHarness, type Harness } from './agent-harness.js';

const SIGKILL = 9;
const SIGTERM = 15;

describe('guest agent: containers on runc', () => {
  let h: Harness;
  let rootfs: string;

  beforeAll(async () => {
    h = await startHarness();
    rootfs = makeBusyboxRootfs(join(h.dir, 'rootfs'));
    await h.agent.CreateSandbox({ hostname: 'ignored-in-test-mode', sandboxId: 'sb1' });
  });

  afterAll(async () => {
    await h?.close();
  });

  const create = (id: string, args: string[], extra?: Parameters<typeof grpcSpec>[2]): Promise<unknown> =>
    h.agent.CreateContainer({ containerId: id, execId: id, OCI: grpcSpec(rootfs, args, extra) });

  const exec = (containerId: string, execId: string, args: string[], extra: Parameters<typeof ociProcess>[1] = {}): Promise<unknown> =>
    h.agent.ExecProcess({ containerId, execId, process: processToGrpc(ociProcess(args, extra)) });

  const runcState = (id: string): string => {
    const out = execFileSync('runc', ['--root', join(h.stateDir, 'runc'), 'state', id], { encoding: 'utf8' });
    return (JSON.parse(out) as { status: string }).status;
  };

  it('answers Health.Check with SERVING and reports a version', async () => {
    expect((await h.health.Check({})).status).toBe(grpc.HealthCheckResponse.ServingStatus.SERVING);
    expect((await h.health.Version({})).agentVersion).not.toBe('');
    await expectCode(h.agent.CreateSandbox({}), Code.ALREADY_EXISTS, /already exists/);
  });

  it('runs a container: stdout, stderr and the exit status', async () => {
    await create('c-exit', ['sh', '-c', 'echo hello; echo oops >&2; exit 3']);
    await h.agent.StartContainer({ containerId: 'c-exit' });
    const [out, err, wait] = await Promise.all([
      readToEnd(h, 'c-exit', 'c-exit'),
      readToEnd(h, 'c-exit', '', 'ReadStderr'),
      h.agent.WaitProcess({ containerId: 'c-exit', execId: 'c-exit' }),
    ]);
    expect(out.toString()).toBe('hello\n');
    expect(err.toString()).toBe('oops\n');
    expect(wait.status).toBe(3);
    // An exited process answers WaitProcess at once, again.
    expect((await h.agent.WaitProcess({ containerId: 'c-exit', execId: '' })).status).toBe(3);
    await expectCode(h.agent.StartContainer({ containerId: 'c-exit' }), Code.FAILED_PRECONDITION, /stopped/);
    await expectCode(exec('c-exit', 'e1', ['true']), Code.FAILED_PRECONDITION, /cannot exec/);
    await h.agent.RemoveContainer({ containerId: 'c-exit' });
    await expectCode(h.agent.WaitProcess({ containerId: 'c-exit', execId: '' }), Code.NOT_FOUND);
  });

  it('relays stdin: cat echoes until CloseStdin', async () => {
    await create('c-cat', ['cat']);
    await h.agent.StartContainer({ containerId: 'c-cat' });
    const written = await h.agent.WriteStdin({ containerId: 'c-cat', execId: 'c-cat', data: Buffer.from('ping\n') });
    expect(written.len).toBe(5);
    expect(await readUntil(h, 'c-cat', 'c-cat', 'ping\n')).toBe('ping\n');
    await h.agent.CloseStdin({ containerId: 'c-cat', execId: 'c-cat' });
    expect((await h.agent.WaitProcess({ containerId: 'c-cat', execId: 'c-cat' })).status).toBe(0);
    expect((await readToEnd(h, 'c-cat', 'c-cat')).length).toBe(0);
    await h.agent.RemoveContainer({ containerId: 'c-cat' });
  });

  describe('a long-running container', () => {
    const id = 'c-long';

    beforeAll(async () => {
      await create(id, ['sleep', '1000']);
      await h.agent.StartContainer({ containerId: id });
    });

    it('execs processes and returns their exit codes', async () => {
      await exec(id, 'e-exit', ['sh', '-c', 'echo from-exec; exit 5']);
      const [out, wait] = await Promise.all([readToEnd(h, id, 'e-exit'), h.agent.WaitProcess({ containerId: id, execId: 'e-exit' })]);
      expect(out.toString()).toBe('from-exec\n');
      expect(wait.status).toBe(5);
    });

    it('signals an exec: SIGKILL gives 137', async () => {
      await exec(id, 'e-sleep', ['sleep', '1000']);
      await expectCode(exec(id, 'e-sleep', ['true']), Code.ALREADY_EXISTS);
      await expectCode(exec(id, id, ['true']), Code.ALREADY_EXISTS);
      await h.agent.SignalProcess({ containerId: id, execId: 'e-sleep', signal: SIGKILL });
      expect((await h.agent.WaitProcess({ containerId: id, execId: 'e-sleep' })).status).toBe(137);
    });

    it('answers NOT_FOUND for unknown containers and execs', async () => {
      await expectCode(h.agent.WaitProcess({ containerId: id, execId: 'nope' }), Code.NOT_FOUND, /nope/);
      await expectCode(h.agent.SignalProcess({ containerId: id, execId: 'nope', signal: SIGTERM }), Code.NOT_FOUND);
      await expectCode(h.agent.ReadStdout({ containerId: id, execId: 'nope', len: 10 }), Code.NOT_FOUND);
      await expectCode(h.agent.StartContainer({ containerId: 'ghost' }), Code.NOT_FOUND, /ghost/);
      await expectCode(h.agent.StatsContainer({ containerId: 'ghost' }), Code.NOT_FOUND);
      await expectCode(h.agent.RemoveContainer({ containerId: 'ghost' }), Code.NOT_FOUND);
      await expectCode(h.agent.ExecProcess({ containerId: 'ghost', execId: 'x', process: processToGrpc(ociProcess(['true'])) }), Code.NOT_FOUND);
    });

    it('blocks a read until output arrives, honouring len', async () => {
      await exec(id, 'e-late', ['sh', '-c', 'sleep 0.3; echo late-output']);
      const started = Date.now();
      const first = await h.agent.ReadStdout({ containerId: id, execId: 'e-late', len: 4 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(Buffer.from(first.data).toString()).toBe('late');
      expect((await readToEnd(h, id, 'e-late')).toString()).toBe('-output\n');
      expect((await h.agent.WaitProcess({ containerId: id, execId: 'e-late' })).status).toBe(0);
    });

    it('ends output shortly after exit even when a child keeps the pipe open', async () => {
      await exec(id, 'e-orphan', ['sh', '-c', 'sleep 30 & echo bye']);
      const started = Date.now();
      expect((await readToEnd(h, id, 'e-orphan')).toString()).toBe('bye\n');
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await h.agent.WaitProcess({ containerId: id, execId: 'e-orphan' })).status).toBe(0);
    });

    it('keeps large output until read (bounded buffer with backpressure)', async () => {
      await exec(id, 'e-big', ['head', '-c', '3000000', '/dev/zero']);
      const [out, wait] = await Promise.all([readToEnd(h, id, 'e-big', 'ReadStdout', 100_000), h.agent.WaitProcess({ containerId: id, execId: 'e-big' })]);
      expect(out.length).toBe(3_000_000);
      expect(wait.status).toBe(0);
    });

    it('runs a terminal exec: pty output, input, resize, exit code', async () => {
      await exec(id, 'e-tty', ['sh', '-c', 'tty; read line; stty size; echo "got $line"; exit 4'], {
        terminal: true,
        consoleSize: { height: 30, width: 100 },
      });
      expect(await readUntil(h, id, 'e-tty', '/dev/pts/')).toMatch(/^\/dev\/pts\/\d+/);
      await h.agent.TtyWinResize({ containerId: id, execId: 'e-tty', row: 40, column: 132 });
      await new Promise((r) => setTimeout(r, 200)); // SIGWINCH travels telnetd → runc → container pty
      await h.agent.WriteStdin({ containerId: id, execId: 'e-tty', data: Buffer.from('hi\r') });
      const text = await readUntil(h, id, 'e-tty', 'got hi');
      expect(text).toContain('40 132');
      expect(text).toContain('got hi\r\n');
      expect((await h.agent.WaitProcess({ containerId: id, execId: 'e-tty' })).status).toBe(4);
      expect((await readToEnd(h, id, 'e-tty', 'ReadStderr')).length).toBe(0); // a terminal has no separate stderr
    });

    it('pauses and resumes (state visible through runc)', async () => {
      await h.agent.PauseContainer({ containerId: id });
      expect(runcState(id)).toBe('paused');
      await expectCode(exec(id, 'e-paused', ['true']), Code.FAILED_PRECONDITION, /paused/);
      await expectCode(h.agent.PauseContainer({ containerId: id }), Code.FAILED_PRECONDITION);
      await h.agent.ResumeContainer({ containerId: id });
      expect(runcState(id)).toBe('running');
      await expectCode(h.agent.ResumeContainer({ containerId: id }), Code.FAILED_PRECONDITION);
    });

    it('reports stats and applies UpdateContainer to the cgroup', async () => {
      const before = await h.agent.StatsContainer({ containerId: id });
      expect(before.cgroupStats?.memoryStats?.usage?.usage).toBeGreaterThan(0);
      expect(before.cgroupStats?.pidsStats?.current).toBeGreaterThanOrEqual(1);
      expect(before.cgroupStats?.cpuStats?.cpuUsage?.totalUsage).toBeGreaterThan(0);
      await h.agent.UpdateContainer({ containerId: id, resources: { Memory: { Limit: 64 << 20 }, Pids: { Limit: 77 } } });
      const after = await h.agent.StatsContainer({ containerId: id });
      expect(after.cgroupStats?.memoryStats?.usage?.limit).toBe(64 << 20);
      expect(after.cgroupStats?.pidsStats?.limit).toBe(77);
    });

    it('kills the whole container with an empty exec id: init exits 137', async () => {
      await exec(id, 'e-bg', ['sleep', '1000']);
      await h.agent.SignalProcess({ containerId: id, execId: '', signal: SIGKILL });
      expect((await h.agent.WaitProcess({ containerId: id, execId: id })).status).toBe(137);
      expect((await h.agent.WaitProcess({ containerId: id, execId: 'e-bg' })).status).toBe(137);
      await expectCode(exec(id, 'e-after', ['true']), Code.FAILED_PRECONDITION, /stopped/);
      await h.agent.RemoveContainer({ containerId: id });
    });
  });

  it('lets an exec id be used again once its status was collected, and never mixes the two up', async () => {
    await create('c-reuse', ['sleep', '1000']);
    await h.agent.StartContainer({ containerId: 'c-reuse' });
    await exec('c-reuse', 'e1', ['echo', 'old']);
    expect((await h.agent.WaitProcess({ containerId: 'c-reuse', execId: 'e1' })).status).toBe(0);
    // The old output is never read: the old exec lingers, but its id is free for the host.
    for (let i = 0; i < 3; i++) {
      // Output only after a pause: the old exec's record of its exit must not end this one early.
      await exec('c-reuse', 'e1', ['sh', '-c', `sleep 1; seq ${100 + i}`]);
      const [out, wait] = await Promise.all([readToEnd(h, 'c-reuse', 'e1'), h.agent.WaitProcess({ containerId: 'c-reuse', execId: 'e1' })]);
      expect(wait.status).toBe(0);
      expect(out.toString()).toBe(Array.from({ length: 100 + i }, (_, n) => `${n + 1}\n`).join(''));
    }
    await h.agent.RemoveContainer({ containerId: 'c-reuse' });
  });

  it('removes a running container (kills it) and a never-started one', async () => {
    await create('c-rm', ['sleep', '1000']);
    await h.agent.StartContainer({ containerId: 'c-rm' });
    const waited = h.agent.WaitProcess({ containerId: 'c-rm', execId: '' });
    await h.agent.RemoveContainer({ containerId: 'c-rm' });
    expect((await waited).status).toBe(137);

    await create('c-paused', ['sleep', '1000']);
    await h.agent.StartContainer({ containerId: 'c-paused' });
    await h.agent.PauseContainer({ containerId: 'c-paused' });
    await h.agent.RemoveContainer({ containerId: 'c-paused' });

    await create('c-never', ['true']);
    await h.agent.SignalProcess({ containerId: 'c-never', execId: '', signal: SIGKILL });
    expect((await h.agent.WaitProcess({ containerId: 'c-never', execId: '' })).status).toBe(137);
    await expectCode(h.agent.StartContainer({ containerId: 'c-never' }), Code.FAILED_PRECONDITION, /stopped/);
    await h.agent.RemoveContainer({ containerId: 'c-never' });
  });

  it('runs a terminal container (init with Terminal=true)', async () => {
    await create('c-tty', ['sh', '-c', 'tty; echo tty-init'], { process: { terminal: true } });
    await h.agent.StartContainer({ containerId: 'c-tty' });
    const out = (await readToEnd(h, 'c-tty', 'c-tty')).toString();
    expect(out).toMatch(/^\/dev\/pts\/\d+\r\ntty-init\r\n$/);
    expect((await h.agent.WaitProcess({ containerId: 'c-tty', execId: '' })).status).toBe(0);
    await h.agent.RemoveContainer({ containerId: 'c-tty' });
  });

  it('fails StartContainer with runc\'s reason when the command does not exist', async () => {
    await create('c-noexec', ['/bin/no-such-command']);
    await expectCode(h.agent.StartContainer({ containerId: 'c-noexec' }), Code.INTERNAL, /no-such-command/);
    await h.agent.RemoveContainer({ containerId: 'c-noexec' });
  });

  it('refuses invalid specs with INVALID_ARGUMENT and the reason', async () => {
    await expectCode(create('c-bad', []), Code.INVALID_ARGUMENT, /process args are empty/);
    await expectCode(
      h.agent.CreateContainer({ containerId: 'c-bad', OCI: { ...grpcSpec(rootfs, ['true']), Root: { Path: join(h.dir, 'missing') } } }),
      Code.INVALID_ARGUMENT,
      /root path .*missing does not exist/,
    );
    await expectCode(
      h.agent.CreateContainer({ containerId: 'c-bad', OCI: { ...grpcSpec(rootfs, ['true']), Root: null } }),
      Code.INVALID_ARGUMENT,
      /no root path/,
    );
    await expectCode(create('../escape', ['true']), Code.INVALID_ARGUMENT, /invalid container id/);
    await expectCode(h.agent.CreateContainer({ containerId: 'c-bad' }), Code.INVALID_ARGUMENT, /no OCI spec/);
    await create('c-dup', ['true']);
    await expectCode(create('c-dup', ['true']), Code.ALREADY_EXISTS, /c-dup/);
    await h.agent.RemoveContainer({ containerId: 'c-dup' });
  });

  it('resolves a relative root path under the shared directory', async () => {
    makeBusyboxRootfs(join(h.sharedDir, 'c-shared', 'rootfs'));
    await h.agent.CreateContainer({ containerId: 'c-shared', OCI: grpcSpec('rootfs', ['echo', 'shared']) });
    await h.agent.StartContainer({ containerId: 'c-shared' });
    expect((await readToEnd(h, 'c-shared', '')).toString()).toBe('shared\n');
    await h.agent.RemoveContainer({ containerId: 'c-shared' });
  });

  it('DestroySandbox removes what is left and ends OOM polling', async () => {
    await create('c-left', ['sleep', '1000']);
    await h.agent.StartContainer({ containerId: 'c-left' });
    const oom = h.agent.GetOOMEvent({});
    await h.agent.DestroySandbox({});
    await expectCode(oom, Code.UNAVAILABLE);
    await expectCode(h.agent.WaitProcess({ containerId: 'c-left', execId: '' }), Code.NOT_FOUND);
  });
});
