// One container in the guest: its bundle, its init process (started by a foreground
// `runc run` at StartContainer) and its exec'd processes. States:
//   created → running ⇄ paused → stopped
// created: bundle written, nothing runs yet; stopped: init exited (runc has then
// already deleted its own state, because a foreground run cleans up after itself).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import type * as oci from '../oci/runtime-spec.js';
import { Code, RuntimeError, alreadyExists, failedPrecondition, notFound } from '../errors/index.js';
import { abortable } from './abortable.js';
import { removeBundle, writeBundle } from './container-bundle.js';
import { containerCgroup, readOomKills, removeCgroup } from './container-cgroup.js';
import type { ContainerId } from './ids.js';
import { launchWithPipes, type Command, type LaunchedProcess } from './launch.js';
import { OomMonitor, type OomFoundAfter } from './oom-monitor.js';
import { watchOom } from './oom-watch.js';
import { ContainerProcess } from './process.js';
import type { Runc, RuncStats } from './runc.js';
import { isTerminating } from './signals.js';
import { launchOnTerminal } from './tty-session.js';

export type ContainerState = 'created' | 'running' | 'paused' | 'stopped';

export interface ContainerDeps {
  runc: Runc;
  log: Logger;
  /** busybox telnetd and leading args, for terminal processes. */
  telnetd: string[];
  /** The agent's --cgroup-parent: the container's cgroup is `<cgroupParent>/<id>` (container-cgroup.ts). */
  cgroupParent: string;
  /** Queues an OOM event for the container (GetOOMEvent). */
  onOom: (id: ContainerId, after: OomFoundAfter) => void;
}

/** How long RemoveContainer waits for the killed init to be gone. */
const REMOVE_WAIT_MS = 10_000;
/** How long an exited exec whose output is never read to the end stays around. */
const EXEC_LINGER_MS = 60_000;
/** How long RemoveContainer waits for runc to remove its cgroup, which is inside the container's. */
const RUNC_EXIT_WAIT_MS = 2_000;

export class Container {
  #state: ContainerState = 'created';
  readonly init: ContainerProcess;
  readonly #execs = new Map<string, ContainerProcess>();
  readonly #releasing = new Set<string>();
  readonly #execDirs = new Map<ContainerProcess, string>();
  #execSeq = 0;
  readonly #oom: OomMonitor;
  readonly #log: Logger;

  private constructor(
    readonly id: ContainerId,
    readonly bundle: string,
    private spec: oci.Spec,
    private readonly deps: ContainerDeps,
  ) {
    this.#log = deps.log;
    this.init = new ContainerProcess(id, !!spec.process?.terminal, this.#log.child({ exec: id }));
    this.#oom = new OomMonitor({
      watch: (onNotice) => watchOom(deps.runc, id, onNotice, this.#log),
      readCount: () => readOomKills(this.#cgroup),
      report: (after) => deps.onOom(id, after),
      log: this.#log,
    });
    void this.init.wait().then(() => this.#onInitExit());
  }

  /** Writes the bundle; the spec has been checked and placed (guestSpec) already. */
  static async create(id: ContainerId, bundle: string, spec: oci.Spec, deps: ContainerDeps): Promise<Container> {
    await writeBundle(bundle, spec);
    return new Container(id, bundle, spec, deps);
  }

  get state(): ContainerState {
    return this.#state;
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'created') throw failedPrecondition(`container ${this.id} is ${this.#state}, not created`);
    if (this.init.exited) throw failedPrecondition(`container ${this.id} was stopped before it started`);
    const dir = join(this.bundle, 'init');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const files = { pidFile: join(dir, 'pid'), logFile: join(dir, 'runc.log') };
    const cmd: Command = { file: this.deps.runc.binary, args: this.deps.runc.runArgs({ bundle: this.bundle, id: this.id, ...files }) };
    this.#state = 'running';
    try {
      await this.#oom.prepare();
      await this.init.start(() => this.#launch(cmd, dir, this.spec.process), files, signal);
    } catch (err) {
      this.init.finish(255);
      throw err;
    }
    if (!this.init.exited) this.#oom.start();
  }

  async exec(execId: string, process: oci.Process, signal?: AbortSignal): Promise<void> {
    const old = this.#execs.get(execId);
    // An exec id is free again once the host collected the old one's status: the host
    // deleted it, so its lingering output is of no use (containerd reuses ids freely).
    if (old && old.exited && this.#releasing.has(execId)) this.forgetExec(execId);
    if (execId === this.id || this.#execs.has(execId)) throw alreadyExists(`container ${this.id}: exec ${execId} already exists`);
    if (this.#state !== 'running') throw failedPrecondition(`container ${this.id} is ${this.#state}: cannot exec in it`);
    // A directory of its own per exec, never reused: runc's log in it is where the exit
    // status is read, and an earlier exec of the same id left its "process exited" there.
    const dir = join(this.bundle, 'execs', `${execId}.${++this.#execSeq}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const processFile = join(dir, 'process.json');
    await writeFile(processFile, JSON.stringify(process), { mode: 0o600 });
    const files = { pidFile: join(dir, 'pid'), logFile: join(dir, 'runc.log') };
    const proc = new ContainerProcess(execId, !!process.terminal, this.#log.child({ exec: execId }));
    this.#execs.set(execId, proc);
    this.#execDirs.set(proc, dir);
    const cmd: Command = { file: this.deps.runc.binary, args: this.deps.runc.execArgs({ id: this.id, processFile, ...files }) };
    try {
      await proc.start(() => this.#launch(cmd, dir, process), files, signal);
    } catch (err) {
      this.#execs.delete(execId);
      this.#dispose(proc);
      throw err;
    }
  }

  /** The init process for '' or the container id, else the exec (NOT_FOUND if unknown). */
  process(execId: string): ContainerProcess {
    if (execId === '' || execId === this.id) return this.init;
    const p = this.#execs.get(execId);
    if (!p) throw notFound(`container ${this.id}: exec ${execId} not found`);
    return p;
  }

  /**
   * WaitProcess: the exit status, once the OOM events that explain it are queued. For
   * the init that is every OOM of the container (OomMonitor.settle); for an exec, the
   * kills counted by then (cgroup v2 only).
   */
  async wait(execId: string, signal?: AbortSignal): Promise<number> {
    const proc = this.process(execId);
    const status = await proc.wait(signal);
    await abortable<unknown>(proc === this.init ? this.#oom.settle() : this.#oom.check(), signal);
    return status;
  }

  /**
   * WaitProcess has delivered an exec's status: it is forgotten once the host has also
   * read its output to the end, or after EXEC_LINGER_MS if it never does.
   */
  releaseExec(execId: string): void {
    const p = this.#execs.get(execId);
    if (!p || !p.exited || this.#releasing.has(execId)) return;
    this.#releasing.add(execId);
    const outputs = Promise.all([p.stdout.eofServed, p.terminal ? undefined : p.stderr.eofServed]);
    void Promise.race([outputs, sleep(EXEC_LINGER_MS)]).then(() => {
      // Only this process: a new exec may have taken the id meanwhile.
      if (this.#execs.get(execId) === p) this.forgetExec(execId);
    });
  }

  /** Releases an exec's buffers and its directory. */
  #dispose(p: ContainerProcess): void {
    p.dispose();
    const dir = this.#execDirs.get(p);
    this.#execDirs.delete(p);
    if (dir) void rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Forgets an exited exec whose status and output the host has collected. */
  forgetExec(execId: string): void {
    const p = this.#execs.get(execId);
    if (!p || !p.exited) return;
    this.#execs.delete(execId);
    this.#releasing.delete(execId);
    this.#dispose(p);
  }

  /** '' = init and every process of the container (runc kill --all), the container id = init, else one exec. */
  async signal(execId: string, sig: number): Promise<void> {
    const target = this.process(execId);
    if (target !== this.init) return target.kill(sig);
    if (this.#state === 'created') {
      // Nothing runs yet: a fatal signal means the container will never start.
      if (isTerminating(sig)) this.init.finish(128 + sig);
      return;
    }
    if (this.#state === 'stopped' || sig === 0) return;
    try {
      await this.deps.runc.kill(this.id, sig, execId === '');
    } catch (err) {
      // Lost the race with the init's exit: the signal has nothing left to do.
      if (this.init.exited || (await this.deps.runc.state(this.id)) === undefined) return;
      throw err;
    }
  }

  async pause(): Promise<void> {
    if (this.#state !== 'running') throw failedPrecondition(`container ${this.id} is ${this.#state}, not running`);
    await this.deps.runc.pause(this.id);
    if (this.#state === 'running') this.#state = 'paused';
  }

  async resume(): Promise<void> {
    if (this.#state !== 'paused') throw failedPrecondition(`container ${this.id} is ${this.#state}, not paused`);
    await this.deps.runc.resume(this.id);
    if (this.#state === 'paused') this.#state = 'running';
  }

  /** Before the start the resources go into config.json, afterwards into the live cgroup. */
  async update(resources: oci.LinuxResources): Promise<void> {
    switch (this.#state) {
      case 'created':
        this.spec = { ...this.spec, linux: { ...this.spec.linux, resources: mergeResources(this.spec.linux?.resources, resources) } };
        await writeBundle(this.bundle, this.spec);
        return;
      case 'running':
      case 'paused':
        return this.deps.runc.update(this.id, resources);
      case 'stopped':
        throw failedPrecondition(`container ${this.id} is stopped`);
    }
  }

  async stats(): Promise<RuncStats> {
    if (this.#state !== 'running' && this.#state !== 'paused') throw failedPrecondition(`container ${this.id} is ${this.#state}`);
    return this.deps.runc.stats(this.id);
  }

  /** Kills whatever still runs, then drops processes, bundle, runc state and cgroup. */
  async remove(): Promise<void> {
    this.#oom.stop();
    if (this.#state === 'running' || this.#state === 'paused') {
      await this.deps.runc.delete(this.id, true).catch((err: unknown) => {
        if (!(err instanceof RuntimeError && err.code === Code.NOT_FOUND)) throw err;
      });
      const gone = await Promise.race([this.init.wait().then(() => true), sleep(REMOVE_WAIT_MS).then(() => false)]);
      if (!gone) throw new RuntimeError(Code.DEADLINE_EXCEEDED, `container ${this.id}: init did not exit after runc delete --force`);
    }
    this.init.finish(255);
    this.#state = 'stopped';
    for (const p of this.#execs.values()) p.dispose();
    this.#execs.clear();
    this.init.dispose();
    await Promise.race([this.init.launcherExited(), sleep(RUNC_EXIT_WAIT_MS)]);
    const left = await removeCgroup(this.#cgroup);
    if (left.length) this.#log.warn({ cgroups: left }, 'cannot remove the container\'s cgroup');
    await removeBundle(this.bundle);
  }

  /** The agent's cgroup for this container, which outlives runc's (container-cgroup.ts). */
  get #cgroup(): string {
    return containerCgroup(this.deps.cgroupParent, this.id);
  }

  /** runc events keeps watching: it ends by itself once the cgroup is gone (oom-watch.ts). */
  #onInitExit(): void {
    this.#state = 'stopped';
    void this.#oom.settle();
  }

  #launch(cmd: Command, dir: string, process: oci.Process | undefined): Promise<LaunchedProcess> {
    if (!process?.terminal) return Promise.resolve(launchWithPipes(cmd));
    const size = process.consoleSize ? { rows: process.consoleSize.height, cols: process.consoleSize.width } : undefined;
    return launchOnTerminal(cmd, { telnetd: this.deps.telnetd, dir, size });
  }
}

/** UpdateContainer carries only what changes; fields it leaves out keep their values. */
export function mergeResources(base: oci.LinuxResources | undefined, change: oci.LinuxResources): oci.LinuxResources {
  return {
    ...base,
    ...change,
    memory: change.memory ? { ...base?.memory, ...change.memory } : base?.memory,
    cpu: change.cpu ? { ...base?.cpu, ...change.cpu } : base?.cpu,
    blockIO: change.blockIO ? { ...base?.blockIO, ...change.blockIO } : base?.blockIO,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
