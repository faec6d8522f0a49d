// The shim executable run by hand the way containerd runs it: `start` in a bundle dir
// prints only the address and leaves a daemon holding the socket start bound; the daemon
// answers Connect, reuses itself, stops on Shutdown or SIGTERM; `delete` answers a
// DeleteResponse; failures leave nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerd, google } from '../../src/gen/proto.js';
import { containerd_task_v2_Task } from '../../src/gen/services.js';
import { shimSocketPath } from '../../src/shim/address.js';
import type { ShimFlags } from '../../src/shim/flags.js';
import { probeSocket } from '../../src/shim/socket.js';
import { startShim } from '../../src/shim/start.js';
import { connectUnix } from '../../src/ttrpc/client.js';
import { processAlive } from '../support/processes.js';
import { runCommand, type CommandResult } from '../support/run-command.js';
import { waitUntil } from '../support/wait.js';
import { optionsAny } from './fixtures/containerd-start.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const SHIM = join(ROOT, 'dist/containerd-shim-kata-v2.cjs');
const TMP = mkdtempSync('/tmp/shim-lc-');
/** A containerd address nobody listens on: the shim only hashes it into socket paths. */
const ADDRESS = join(TMP, 'containerd.sock');
const NS = 'lifecycle';
let seq = 0;
const ids = new Set<string>();
const uniqueId = (tag: string): string => {
  const id = `lc-${process.pid}-${tag}-${++seq}`;
  ids.add(id);
  return id;
};
const socketOf = (id: string): string => shimSocketPath(ADDRESS, NS, id);
/** Linux's O_CLOEXEC as /proc/PID/fdinfo shows it (Node's fs.constants leaves it out). */
const O_CLOEXEC = 0o2000000;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'src/gen/proto.js'))) execFileSync('npm', ['run', 'gen'], { cwd: ROOT, stdio: 'ignore' });
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs')], { cwd: ROOT });
}, 120_000);

afterAll(() => {
  // A failed test may leave a daemon of this file: kill it by pid, remove its socket.
  for (const id of ids) {
    for (const pid of processesFor(id)) process.kill(pid, 'SIGKILL');
    rmSync(socketOf(id), { force: true });
  }
  rmSync(TMP, { recursive: true, force: true });
});

/** A bundle dir like containerd's: config.json (none when `config` is null) and rootfs/. */
function makeBundle(config: unknown = { ociVersion: '1.0.2' }): string {
  const dir = mkdtempSync(join(TMP, 'b-'));
  mkdirSync(join(dir, 'rootfs'));
  if (config !== null) writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

function shim(action: string[], id: string, bundle: string, extra: string[] = [], input?: Uint8Array): Promise<CommandResult> {
  const args = ['-namespace', NS, '-address', ADDRESS, '-publish-binary', '/usr/bin/containerd', '-id', id, ...extra, ...action];
  return runCommand(SHIM, args, { cwd: bundle, env: { ...process.env, TTRPC_ADDRESS: `${ADDRESS}.ttrpc` }, timeoutMs: 20_000, input: input && Buffer.from(input) });
}


const waitGone = (pid: number): Promise<void> => waitUntil(() => !processAlive(pid), { what: `shim daemon ${pid} to exit` });

/** Live processes whose argv has `-id <id>`: how many shims serve that id. */
function processesFor(id: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const i = argv.indexOf('-id');
        return i >= 0 && argv[i + 1] === id && processAlive(Number(pid));
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function startOk(id: string, bundle: string): Promise<{ address: string; pid: number; ms: number }> {
  const r = await shim(['start'], id, bundle);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const pid = Number(readFileSync(join(bundle, 'shim.pid'), 'utf8'));
  return { address: r.stdout, pid, ms: r.durationMs };
}

/** Connect answered: the daemon booted and serves (start returns before it does). */
async function connectPid(path: string, id: string): Promise<number> {
  const client = await connectUnix(path);
  try {
    return (await client.call(containerd_task_v2_Task, 'Connect', { id }, { timeoutMs: 10_000 })).shimPid;
  } finally {
    await client.close();
  }
}

async function callShutdown(path: string): Promise<void> {
  const client = await connectUnix(path);
  try {
    await client.call(containerd_task_v2_Task, 'Shutdown', { id: '' }, { timeoutMs: 5000 }).catch(() => undefined);
  } finally {
    await client.close();
  }
}

/** A socket file nobody listens on, as a SIGKILLed shim leaves it. */
function makeStaleSocket(path: string): void {
  spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
  expect(existsSync(path)).toBe(true);
}

describe('shim start, daemon and Shutdown', () => {
  it('prints only the address, returns, and leaves a detached daemon that answers Connect', async () => {
    const id = uniqueId('sb');
    const bundle = makeBundle();
    const { address, pid } = await startOk(id, bundle);
    expect(address).toBe(`unix://${socketOf(id)}`);
    expect(readFileSync(join(bundle, 'address'), 'utf8')).toBe(address); // no trailing newline
    expect(processAlive(pid)).toBe(true);
    // Its own session (setsid), and no action in its argv.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[3])).toBe(pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(argv).not.toContain('start');
    expect(readdirSync(bundle).sort()).toEqual(['address', 'config.json', 'rootfs', 'shim.pid']);
    // The socket start bound is the daemon's fd 3, close-on-exec: QEMU and virtiofsd never hold it.
    expect(readlinkSync(`/proc/${pid}/fd/3`)).toMatch(/^socket:/);
    const fdFlags = parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/3`, 'utf8'))![1]!, 8);
    expect(fdFlags & O_CLOEXEC).toBe(O_CLOEXEC);

    const client = await connectUnix(socketOf(id));
    const res = await client.call(containerd_task_v2_Task, 'Connect', { id }, { timeoutMs: 5000 });
    expect(res.shimPid).toBe(pid);
    expect(res.taskPid).toBe(0);
    // The test bundle's spec shares the host's namespaces: the real task service refuses it.
    await expect(client.call(containerd_task_v2_Task, 'Create', { id, bundle }, { timeoutMs: 5000 })).rejects.toMatchObject({ codeName: 'INVALID_ARGUMENT' });
    await expect(client.call(containerd_task_v2_Task, 'Checkpoint', { id }, { timeoutMs: 5000 })).rejects.toMatchObject({ codeName: 'UNIMPLEMENTED' });
    await client.close();

    // A second start for the same id finds the live daemon and starts nothing.
    const again = await startOk(id, bundle);
    expect(again.address).toBe(address);
    expect(again.pid).toBe(pid);
    expect(processesFor(id)).toEqual([pid]);

    await callShutdown(socketOf(id));
    await waitGone(pid);
    expect(existsSync(socketOf(id))).toBe(false);
  });

  it('stops on SIGTERM, removing its socket, and writes its log into the bundle log FIFO', async () => {
    const id = uniqueId('term');
    const bundle = makeBundle();
    spawnSync('mkfifo', [join(bundle, 'log')]);
    // Like containerd: hold the read side open (O_RDWR, non-blocking) before start runs.
    const fifo = openSync(join(bundle, 'log'), constants.O_RDWR | constants.O_NONBLOCK);
    try {
      const { pid } = await startOk(id, bundle);
      // Once it serves: a daemon still booting dies of SIGTERM without its handlers.
      expect(await connectPid(socketOf(id), id)).toBe(pid);
      process.kill(pid, 'SIGTERM');
      await waitGone(pid);
      expect(existsSync(socketOf(id))).toBe(false);
      const buf = Buffer.alloc(65536);
      const n = readSync(fifo, buf);
      const lines = buf.subarray(0, n).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; id: string });
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shim daemon listening', 'shim daemon stopping', 'shim daemon exited']));
      expect(lines[0]?.id).toBe(id);
    } finally {
      closeSync(fifo);
    }
  });

  it('replaces a stale socket left by a dead shim', async () => {
    const id = uniqueId('stale');
    makeStaleSocket(socketOf(id));
    const bundle = makeBundle();
    const { pid } = await startOk(id, bundle);
    await callShutdown(socketOf(id));
    await waitGone(pid);
  });
});

describe('shim start with what containerd 2.3 and 1.6 write on stdin', () => {
  /** BootstrapParams as containerd 2.3's pkg/shim/util.go Command fills them for this file's shims. */
  const bootstrap = (id: string, configPath: string): Uint8Array =>
    containerd.runtime.bootstrap.v1.BootstrapParams.encode({
      instanceId: id,
      namespace: NS,
      containerdVersion: 'v2.3.4',
      containerdTtrpcAddress: `${ADDRESS}.ttrpc`,
      containerdGrpcAddress: ADDRESS,
      containerdBinary: '/usr/bin/containerd',
      extensions: [{ value: google.protobuf.Any.decode(optionsAny({ configPath })) }],
      socketDir: '/run/containerd/s',
    }).finish();
  const configFile = (): string => {
    const path = join(TMP, `configuration-${++seq}.toml`);
    writeFileSync(path, '');
    return path;
  };

  it('2.3: BootstrapParams in, a BootstrapResult with the usual address out, nothing on stderr', async () => {
    const id = uniqueId('boot');
    const bundle = makeBundle();
    const r = await shim(['start'], id, bundle, [], bootstrap(id, configFile()));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const result = containerd.runtime.bootstrap.v1.BootstrapResult.decode(Buffer.from(r.stdout, 'utf8'));
    expect([result.version, result.address, result.protocol]).toEqual([2, `unix://${socketOf(id)}`, 'ttrpc']);
    // The bundle's address file stays the plain address (containerd 2.x migrates it to bootstrap.json).
    expect(readFileSync(join(bundle, 'address'), 'utf8')).toBe(result.address);
    const pid = Number(readFileSync(join(bundle, 'shim.pid'), 'utf8'));
    expect(await connectPid(socketOf(id), id)).toBe(pid);
    await callShutdown(socketOf(id));
    await waitGone(pid);
  });

  it('1.6: the runtime options Any in, the plain address out', async () => {
    const id = uniqueId('any');
    const r = await shim(['start'], id, makeBundle(), [], optionsAny({ configPath: configFile() }));
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: `unix://${socketOf(id)}` });
    const pid = await connectPid(socketOf(id), id);
    await callShutdown(socketOf(id));
    await waitGone(pid);
  });

  const bad: Array<[string, (id: string) => Uint8Array, string | RegExp]> = [
    // Cut inside its last field, whichever that is for this id and path: a length points past the end.
    ['a truncated BootstrapParams', (id) => bootstrap(id, configFile()).subarray(0, -3), /^.*BootstrapParams on stdin \(\d+ bytes\) is malformed: field \d+: .*length/],
    ['BootstrapParams from containerd 2.2', (id) => containerd.runtime.bootstrap.v1.BootstrapParams.encode({ instanceId: id, namespace: NS, containerdVersion: '2.2.0' }).finish(), 'unknown input version'],
    ['a ConfigPath that does not exist', (id) => bootstrap(id, join(TMP, 'missing.toml')), 'missing.toml (the runtime options\' ConfigPath) does not exist'],
  ];
  it.each(bad)('%s → exit 1 with one clear line, nothing left behind', async (_name, input, message) => {
    const id = uniqueId('bad-stdin');
    const bundle = makeBundle();
    const r = await shim(['start'], id, bundle, [], input(id));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    if (typeof message === 'string') expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(bundle).sort()).toEqual(['config.json', 'rootfs']);
    expect(existsSync(socketOf(id))).toBe(false);
    expect(processesFor(id)).toEqual([]);
  });
});

describe('shim start for a container of a pod', () => {
  it('answers the sandbox shim’s address and starts nothing', async () => {
    const sandboxId = uniqueId('pod');
    const sandbox = await startOk(sandboxId, makeBundle({ ociVersion: '1.0.2', annotations: { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': sandboxId } }));
    const id = uniqueId('ctr');
    const bundle = makeBundle({ ociVersion: '1.0.2', annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': sandboxId } });
    const r = await shim(['start'], id, bundle);
    expect(r).toMatchObject({ code: 0, stderr: '', stdout: sandbox.address });
    expect(readFileSync(join(bundle, 'address'), 'utf8')).toBe(sandbox.address);
    expect(existsSync(join(bundle, 'shim.pid'))).toBe(false);
    expect(processesFor(id)).toEqual([]);
    await callShutdown(socketOf(sandboxId));
    await waitGone(sandbox.pid);
  });

  it('fails clearly when the sandbox has no running shim', async () => {
    const id = uniqueId('orphan');
    const bundle = makeBundle({ ociVersion: '1.0.2', annotations: { 'io.kubernetes.cri-o.ContainerType': 'container', 'io.kubernetes.cri-o.SandboxID': 'nosuchsandbox' } });
    const r = await shim(['start'], id, bundle);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('sandbox nosuchsandbox has no running shim');
    expect(readdirSync(bundle).sort()).toEqual(['config.json', 'rootfs']);
  });
});

describe('shim start failures leave nothing behind', () => {
  const cases: Array<[string, unknown, string]> = [
    ['invalid JSON', '{"ociVersion": ', 'config.json is not valid JSON'],
    ['missing config.json', null, 'has no config.json'],
    ['an unknown container type', { ociVersion: '1.0.2', annotations: { 'io.kubernetes.docker.type': 'sandbox' } }, 'unknown container type "sandbox"'],
    ['annotations of the wrong shape', { ociVersion: '1.0.2', annotations: ['x'] }, 'annotations must be an object'],
  ];
  it.each(cases)('%s → exit 1 with one clear line', async (_name, config, message) => {
    const id = uniqueId('bad');
    const bundle = makeBundle(config);
    const before = readdirSync(bundle).sort();
    const r = await shim(['start'], id, bundle);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    if (typeof message === 'string') expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(bundle).sort()).toEqual(before);
    expect(existsSync(socketOf(id))).toBe(false);
    expect(processesFor(id)).toEqual([]);
  });

  const flagsFor = (id: string): ShimFlags => ({ action: 'start', debug: false, namespace: NS, id, socket: '', bundle: '', address: ADDRESS, publishBinary: '' });
  it('a daemon that cannot be run → start fails and removes the socket it bound', async () => {
    const id = uniqueId('daemon');
    const bundle = makeBundle();
    const cmd = { file: join(TMP, 'no-such-node'), args: [] };
    await expect(startShim({ flags: { ...flagsFor(id), bundle }, env: process.env }, { daemonCommand: cmd })).rejects.toThrow(/^cannot run the shim daemon: spawn .* ENOENT$/);
    expect(readdirSync(bundle).sort()).toEqual(['config.json', 'rootfs']);
    expect(existsSync(socketOf(id))).toBe(false);
    // Nor the private name the socket was bound at before it was linked to its path.
    expect(readdirSync(dirname(socketOf(id))).filter((f) => f.startsWith(`.${process.pid.toString(36)}-`))).toEqual([]);
  });

  it('a daemon that dies before serving: start has answered, and the stale socket is replaced by the next start', async () => {
    const id = uniqueId('early-exit');
    const bundle = makeBundle();
    // `--` keeps node from reading the shim flags appended after the script as its own.
    const cmd = { file: process.execPath, args: ['-e', 'process.exit(3)', '--'] };
    // start does not wait for the daemon to boot: containerd's first call finds out.
    expect(await startShim({ flags: { ...flagsFor(id), bundle }, env: process.env }, { daemonCommand: cmd })).toBe(`unix://${socketOf(id)}`);
    // Gone means a zombie or no process: an exiting process's command line reads empty
    // before the kernel closes its files, so matching command lines is not enough here.
    await waitGone(Number(readFileSync(join(bundle, 'shim.pid'), 'utf8')));
    expect(processesFor(id)).toEqual([]);
    // Nobody holds the socket now, start's process included: connecting is refused.
    expect(await probeSocket(socketOf(id))).toBe('stale');
    const again = await startOk(id, makeBundle());
    expect(await connectPid(socketOf(id), id)).toBe(again.pid);
    await callShutdown(socketOf(id));
    await waitGone(again.pid);
  });

  it('refuses a socket held by something that is not a shim', async () => {
    const id = uniqueId('squat');
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(socketOf(id), r));
    try {
      const bundle = makeBundle();
      const r = await shim(['start'], id, bundle);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('does not answer Connect');
      expect(readdirSync(bundle).sort()).toEqual(['config.json', 'rootfs']);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('shim delete', () => {
  it('unmounts the rootfs, removes a stale socket and answers a raw DeleteResponse', async () => {
    const id = uniqueId('del');
    const bundle = makeBundle();
    makeStaleSocket(socketOf(id));
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', join(bundle, 'rootfs')]);
    try {
      const before = Date.now();
      // spawnSync keeps stdout as raw bytes (runCommand decodes UTF-8).
      const r = spawnSync(SHIM, ['-namespace', NS, '-address', ADDRESS, '-publish-binary', '/usr/bin/containerd', '-id', id, '-bundle', bundle, 'delete'], {
        cwd: bundle,
        encoding: 'buffer',
        timeout: 20_000,
      });
      expect(r.status).toBe(0);
      // containerd logs stderr as "cleanup warnings": here, what had to be cleaned.
      expect(r.stderr.toString()).toContain('unmounted rootfs left by a dead shim');
      expect(r.stderr.toString()).toContain('removed the socket of a dead shim');
      const res = containerd.task.v2.DeleteResponse.decode(r.stdout);
      expect(res.pid).toBe(0);
      expect(res.exitStatus).toBe(137);
      expect(Number(res.exitedAt?.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(bundle, 'rootfs'));
      expect(existsSync(socketOf(id))).toBe(false);
    } finally {
      spawnSync('umount', [join(bundle, 'rootfs')]);
    }
  });

  it('leaves a live shim’s socket alone and says nothing when nothing needed cleaning', async () => {
    const id = uniqueId('del-live');
    const bundle = makeBundle();
    const { pid } = await startOk(id, bundle);
    const r = await shim(['delete'], id, bundle, ['-bundle', bundle]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(processAlive(pid)).toBe(true);
    expect(existsSync(socketOf(id))).toBe(true);
    await callShutdown(socketOf(id));
    await waitGone(pid);
  });
});

describe('shim -v, -info and bad flags', () => {
  it('prints a version line for -v and --version', async () => {
    for (const flag of ['-v', '--version']) {
      const r = await runCommand(SHIM, [flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^containerd-shim-kata-v2: version \d+\.\d+\.\d+/);
    }
  });

  it('says -info is not supported', async () => {
    const r = await runCommand(SHIM, ['-info']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('-info is not supported');
  });

  it('rejects an unknown flag', async () => {
    const r = await runCommand(SHIM, ['-namespace', 'n', '-bogus', 'start']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('flag provided but not defined: -bogus');
  });
});
