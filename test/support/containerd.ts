// A private containerd for tests: its own temp dir, config, sockets and log file.
// Nothing is shared with a system containerd except what 1.6 hard-codes
// (/run/containerd/{fifo,s,runc}, created by ctr and shims).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderContainerdConfig, type ContainerdConfigOptions } from './containerd-config.js';
import { unmountUnder } from './mounts.js';
import { cleanAfterKilledShims, shimTrees } from './shim-leftovers.js';
import { runCommand, type CommandResult, type RunCommandOptions } from './run-command.js';

export type Snapshotter = 'overlayfs' | 'native';

export interface ContainerdOptions extends ContainerdConfigOptions {
  /** Directories put first on containerd's PATH, e.g. where containerd-shim-kata-v2 lives. */
  extraPath?: readonly string[];
  /** Extra environment for containerd (and so its shims) and ctr. */
  env?: Readonly<Record<string, string>>;
  /** The namespace ctr() uses unless told otherwise; default "default". */
  namespace?: string;
  /** Passed to ctr as CONTAINERD_SNAPSHOTTER; default overlayfs. */
  snapshotter?: Snapshotter;
  /** How long to wait for the gRPC socket to answer; default 15 s. */
  startTimeoutMs?: number;
  /** Parent of the temp dir; default os.tmpdir(), or /tmp if that makes socket paths too long. */
  tmpBase?: string;
  /**
   * A network namespace file (e.g. /run/netns/<name>) to run containerd in, so CNI and
   * host-network pods live there. Spawned as `nsenter --net=<path> containerd ...`: nsenter
   * execs, so the pid is containerd's, and the mount namespace stays the host's.
   */
  netnsPath?: string;
}

export interface CtrOptions extends Omit<RunCommandOptions, 'env'> {
  namespace?: string;
  env?: Readonly<Record<string, string>>;
}

export interface StopReport {
  /** Tasks that were still there at stop, as "namespace/id". */
  leftoverTasks: string[];
  /** Shims of this instance (and their children) still alive after containerd exited; SIGKILLed as a last resort. */
  killedShims: number[];
  /** Mount points that had to be unmounted under the temp dir. */
  unmounted: string[];
}

export interface Containerd {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly address: string;
  readonly ttrpcAddress: string;
  readonly configPath: string;
  readonly logPath: string;
  /** The current containerd process (a new one after restart()). */
  readonly pid: number;
  readonly namespace: string;
  readonly snapshotter: Snapshotter;
  /** The network namespace containerd runs in, when `netnsPath` was given. */
  readonly netnsPath: string | undefined;
  /** Spawn to first successful `ctr version`, in ms. */
  readonly startupMs: number;
  /** Runs `ctr --address <address> -n <namespace> ...args`; never throws on a non-zero exit. */
  ctr(args: readonly string[], options?: CtrOptions): Promise<CommandResult>;
  /** Like ctr() but throws (with stderr) unless the exit code is 0; returns stdout. */
  ctrOk(args: readonly string[], options?: CtrOptions): Promise<string>;
  /** Starts a long-running ctr (e.g. `events`); it is killed by stop() if still running. */
  spawnCtr(args: readonly string[], options?: Pick<CtrOptions, 'namespace' | 'env'>): ChildProcess;
  /** containerd's log so far (its stdout and stderr). */
  logs(): string;
  stop(): Promise<StopReport>;
  /** SIGKILLs containerd (its shims live on) and starts it again on the same state; resolves once it answers. */
  restart(): Promise<void>;
}

const MAX_SOCKET_PATH = 100; // sun_path is 108 bytes; leave room for ".ttrpc"

/** Instances still running when the test process exits are SIGKILLed, so none outlives a crash. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

function makeTempDir(base: string | undefined): string {
  const candidates = base ? [base] : [tmpdir(), '/tmp'];
  for (const parent of candidates) {
    if (join(parent, 'ctrd-XXXXXX', 'containerd.sock.ttrpc').length <= MAX_SOCKET_PATH) {
      return mkdtempSync(join(parent, 'ctrd-'));
    }
  }
  throw new Error(`containerd: socket paths under ${candidates.join(' or ')} would exceed ${MAX_SOCKET_PATH} bytes`);
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function exitPromise(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startContainerd(options: ContainerdOptions = {}): Promise<Containerd> {
  const dir = makeTempDir(options.tmpBase);
  const paths = {
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    opt: join(dir, 'opt'),
    address: join(dir, 'containerd.sock'),
    ttrpcAddress: join(dir, 'containerd.sock.ttrpc'),
  };
  const configPath = join(dir, 'config.toml');
  const logPath = join(dir, 'containerd.log');
  writeFileSync(configPath, renderContainerdConfig(paths, options));

  const namespace = options.namespace ?? 'default';
  const snapshotter = options.snapshotter ?? 'overlayfs';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    PATH: [...(options.extraPath ?? []), process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'].join(':'),
  };
  delete env.NOTIFY_SOCKET; // not a systemd service
  const ctrEnv = (extra?: Readonly<Record<string, string>>): NodeJS.ProcessEnv => ({
    ...env,
    CONTAINERD_SNAPSHOTTER: snapshotter,
    ...extra,
  });
  const ctrArgs = (args: readonly string[], ns: string | undefined): string[] => [
    '--address',
    paths.address,
    '-n',
    ns ?? namespace,
    ...args,
  ];

  const started = performance.now();
  const containerdArgs = ['--config', configPath];
  const spawnContainerd = (): ChildProcess => {
    const logFd = openSync(logPath, 'a');
    const c = options.netnsPath === undefined
      ? spawn('containerd', containerdArgs, { env, stdio: ['ignore', logFd, logFd] })
      : spawn('nsenter', [`--net=${options.netnsPath}`, '--', 'containerd', ...containerdArgs], { env, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    return c;
  };
  // Replaced by restart(); its shims and their VMs live on across it, as in production.
  let child = spawnContainerd();
  if (child.pid === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('containerd: spawn failed (is it installed?)');
  }
  track(child);
  let exited = exitPromise(child);
  const ctrChildren = new Set<ChildProcess>();
  const logs = (): string => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');

  const ctr = (args: readonly string[], o: CtrOptions = {}): Promise<CommandResult> =>
    runCommand('ctr', ctrArgs(args, o.namespace), { ...o, env: ctrEnv(o.env) });

  let stopped: Promise<StopReport> | undefined;
  const stop = (): Promise<StopReport> => (stopped ??= doStop());

  async function removeTasks(): Promise<string[]> {
    const left: string[] = [];
    const nsList = await ctr(['namespaces', 'ls', '-q'], { timeoutMs: 10_000 });
    for (const ns of nsList.stdout.split('\n').filter(Boolean)) {
      const tasks = await ctr(['tasks', 'ls', '-q'], { namespace: ns, timeoutMs: 10_000 });
      for (const id of tasks.stdout.split('\n').filter(Boolean)) {
        left.push(`${ns}/${id}`);
        await ctr(['tasks', 'delete', '--force', id], { namespace: ns, timeoutMs: 60_000 });
      }
    }
    return left;
  }

  async function doStop(): Promise<StopReport> {
    for (const c of ctrChildren) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const running = child.exitCode === null && child.signalCode === null;
    // Deleting tasks through containerd stops their shims (and a kata shim's VM) properly.
    const leftoverTasks = running ? await removeTasks().catch(() => []) : [];
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const graceful = await Promise.race([exited.then(() => true), sleep(10_000, false, { ref: false })]);
      if (!graceful) child.kill('SIGKILL');
      await exited;
    }
    live.delete(child);
    const killedShims = shimTrees(paths.address);
    for (const pid of killedShims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (killedShims.length) {
      await sleep(100); // let the kernel reap them first
      cleanAfterKilledShims(paths.state);
    }
    const unmounted = unmountUnder(dir);
    if (process.env.CONTAINERD_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    return { leftoverTasks, killedShims, unmounted };
  }

  /** Polls `ctr version` until containerd answers; throws with the log's tail if it dies or times out. */
  async function waitReady(since: number): Promise<void> {
    const deadline = since + (options.startTimeoutMs ?? 15_000);
    let lastError = 'socket never appeared';
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`containerd exited early (${child.exitCode ?? child.signalCode}); log:\n${tail(logs())}`);
      }
      if (performance.now() > deadline) {
        throw new Error(`containerd did not answer within ${options.startTimeoutMs ?? 15_000} ms (${lastError}); log:\n${tail(logs())}`);
      }
      if (existsSync(paths.address)) {
        const r = await ctr(['version'], { timeoutMs: 5_000 });
        if (r.code === 0) return;
        lastError = r.stderr.trim();
      }
      await sleep(10);
    }
  }

  const instance: Containerd = {
    dir,
    ...paths,
    configPath,
    logPath,
    get pid() {
      return child.pid!;
    },
    namespace,
    snapshotter,
    netnsPath: options.netnsPath,
    startupMs: 0,
    ctr,
    async ctrOk(args, o) {
      const r = await ctr(args, o);
      if (r.code !== 0) {
        throw new Error(`ctr ${args.join(' ')}: exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr.trim()}`);
      }
      return r.stdout;
    },
    spawnCtr(args, o = {}) {
      const c = spawn('ctr', ctrArgs(args, o.namespace), { env: ctrEnv(o.env), stdio: ['ignore', 'pipe', 'pipe'] });
      ctrChildren.add(c);
      c.once('exit', () => ctrChildren.delete(c));
      return c;
    },
    logs,
    stop,
    async restart() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      live.delete(child);
      child = spawnContainerd();
      track(child);
      exited = exitPromise(child);
      await waitReady(performance.now());
    },
  };

  try {
    await waitReady(started);
  } catch (err) {
    await stop();
    throw err;
  }
  return Object.assign(instance, { startupMs: performance.now() - started });
}
