// The sandbox's one registry of containers and their processes, and every operation on a
// process, each checked against its state machine (process-state.ts) before the agent is
// asked. Exits are watched from the moment a process starts; an exit is reported once
// the process's output reached the host.
import type { Agent, ContainerStats } from '../agent/agent.js';
import { settlesWithin } from '../async/deadline.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Process, Spec } from '../oci/runtime-spec.js';
import type { ExitInfo, SandboxEventSink } from './events.js';
import { checkAllowed, exited, transition } from './process-state.js';
import { SandboxProcess, type ProcessStreams } from './process.js';

/** How long an exit waits for the process's output to reach the host before it is reported. */
export const OUTPUT_DRAIN_MS = 10_000;

/** What the registry needs of the VM side: bounded agent calls, and the agent for long polls. */
export interface AgentAccess {
  /** A control call on the live VM; fails (and may fail the sandbox) when the agent does not answer in time. */
  call<T>(what: string, fn: (agent: Agent) => Promise<T>): Promise<T>;
  /** The agent for calls without a deadline (waits, stream reads); throws when the VM is gone. */
  agent(): Agent;
}

export interface ContainerEntry {
  readonly id: string;
  readonly bundle: string;
  readonly spec: Spec;
  readonly init: SandboxProcess;
  readonly execs: Map<string, SandboxProcess>;
}

/** Read through a call, so a state that changed while an await was pending is seen. */
const hasStopped = (p: SandboxProcess): boolean => p.state.kind === 'stopped';


export class ContainerManager {
  readonly #containers = new Map<string, ContainerEntry>();

  constructor(
    private readonly vm: AgentAccess,
    private readonly emit: SandboxEventSink,
    private readonly log: Logger,
    private readonly outputDrainMs = OUTPUT_DRAIN_MS,
  ) {}

  get size(): number {
    return this.#containers.size;
  }

  get ids(): string[] {
    return [...this.#containers.keys()];
  }

  has(id: string): boolean {
    return this.#containers.has(id);
  }

  /** A container counts towards the VM's size until its init has stopped. */
  isActive(id: string): boolean {
    const k = this.#containers.get(id)?.init.state.kind;
    return k !== undefined && k !== 'stopped' && k !== 'deleted';
  }

  register(entry: ContainerEntry): void {
    if (this.#containers.has(entry.id)) throw alreadyExists(`container ${entry.id}: already exists`);
    this.#containers.set(entry.id, entry);
  }

  unregister(id: string): void {
    this.#containers.delete(id);
  }

  container(id: string): ContainerEntry {
    const c = this.#containers.get(id);
    if (!c) throw notFound(`container ${id}: not found`);
    return c;
  }

  process(containerId: string, execId = ''): SandboxProcess {
    const c = this.container(containerId);
    if (execId === '') return c.init;
    const p = c.execs.get(execId);
    if (!p) throw notFound(`exec ${execId} of container ${containerId}: not found`);
    return p;
  }

  /** Registers an exec; the agent runs it at Start. Nothing is registered when this throws. */
  addExec(containerId: string, execId: string, spec: Process, make: () => SandboxProcess): SandboxProcess {
    const c = this.container(containerId);
    if (c.execs.has(execId)) throw alreadyExists(`exec ${execId} of container ${containerId}: already exists`);
    checkAllowed(c.init.what, c.init.state, 'exec');
    if (!spec.args?.length) throw invalidArgument(`exec ${execId} of container ${containerId}: the process has no args`);
    const p = make();
    c.execs.set(execId, p);
    this.emit({ type: 'exec-added', containerId, execId });
    return p;
  }

  async start(containerId: string, execId = ''): Promise<void> {
    const c = this.container(containerId);
    const p = this.process(containerId, execId);
    checkAllowed(p.what, p.state, 'start');
    if (p.isInit) await this.vm.call('StartContainer', (a) => a.startContainer(containerId));
    else {
      checkAllowed(c.init.what, c.init.state, 'exec');
      await this.vm.call('ExecProcess', (a) => a.execProcess(containerId, p.agentExecId, p.spec!));
    }
    p.state = transition(p.what, p.state, 'start');
    // Reported before the exit can be: the exit watch begins only now.
    this.emit({ type: 'started', containerId, execId });
    p.io.attach(this.streams(p));
    p.attached = true;
    if (p.stdinCloseRequested) void p.io.closeStdin();
    this.watchExit(p);
  }

  async kill(containerId: string, execId: string, signal: number): Promise<void> {
    const p = this.process(containerId, execId);
    checkAllowed(p.what, p.state, 'kill');
    if (p.state.kind === 'stopped') {
      // containerd's runc shim: killing a finished process with KILL/TERM is not an error.
      if (signal === 9 || signal === 15) return;
      throw notFound(`${p.what}: process already finished`);
    }
    if (p.state.kind === 'created') {
      if (signal === 0) return; // only asks whether it exists
      if (!p.isInit) throw failedPrecondition(`${p.what}: cannot signal an exec that has not started`);
      // Nothing runs in the guest yet: the signal ends it, as it would end runc's waiting init.
      this.finish(p, 128 + signal);
      return;
    }
    try {
      // Kata signals init together with every process of its container (empty exec id).
      await this.vm.call('SignalProcess', (a) => a.signalProcess(containerId, p.isInit ? '' : p.agentExecId, signal));
    } catch (err) {
      // The sandbox failed under us and ended the process: a KILL/TERM got what it wanted.
      if (hasStopped(p) && (signal === 9 || signal === 15)) return;
      throw err;
    }
  }

  async pause(containerId: string): Promise<void> {
    const c = this.container(containerId);
    checkAllowed(c.init.what, c.init.state, 'pause');
    await this.vm.call('PauseContainer', (a) => a.pauseContainer(containerId));
    c.init.state = transition(c.init.what, c.init.state, 'pause');
    this.emit({ type: 'paused', containerId });
  }

  async resume(containerId: string): Promise<void> {
    const c = this.container(containerId);
    checkAllowed(c.init.what, c.init.state, 'resume');
    await this.vm.call('ResumeContainer', (a) => a.resumeContainer(containerId));
    c.init.state = transition(c.init.what, c.init.state, 'resume');
    this.emit({ type: 'resumed', containerId });
  }

  /** CloseIO(stdin): before Start it is remembered and applied once the process runs. */
  async closeStdin(containerId: string, execId: string): Promise<void> {
    const p = this.process(containerId, execId);
    checkAllowed(p.what, p.state, 'closeIO');
    if (!p.attached) {
      p.stdinCloseRequested = true;
      return;
    }
    await p.io.closeStdin();
  }

  async resizePty(containerId: string, execId: string, rows: number, columns: number): Promise<void> {
    const p = this.process(containerId, execId);
    checkAllowed(p.what, p.state, 'resize');
    // No terminal exists in the guest before Start; the size comes with the process spec.
    if (p.state.kind === 'created') return;
    await this.vm.call('TtyWinResize', (a) => a.ttyWinResize(containerId, p.agentExecId, rows, columns));
  }

  async stats(containerId: string): Promise<ContainerStats> {
    const c = this.container(containerId);
    checkAllowed(c.init.what, c.init.state, 'stats');
    return this.vm.call('StatsContainer', (a) => a.statsContainer(containerId));
  }

  /**
   * Deletes an exec, or the container with its init (the caller releases the guest side).
   * A stopped process is deleted only after its exit was reported.
   */
  async delete(containerId: string, execId = ''): Promise<ExitInfo> {
    const c = this.container(containerId);
    const p = this.process(containerId, execId);
    checkAllowed(p.what, p.state, 'delete');
    if (p.state.kind === 'stopped') await settlesWithin(p.reported, this.outputDrainMs);
    p.state = transition(p.what, p.state, 'delete');
    const info: ExitInfo = p.state.kind === 'deleted' ? { exitStatus: p.state.exitStatus, exitedAt: p.state.exitedAt } : { exitStatus: 0, exitedAt: new Date() };
    if (!p.isInit) {
      c.execs.delete(execId);
      await p.io.close();
      return info;
    }
    for (const e of c.execs.values()) {
      this.finish(e, 255, `container ${containerId} was deleted`);
      await e.io.close();
    }
    c.execs.clear();
    this.#containers.delete(containerId);
    await p.io.close();
    this.emit({ type: 'deleted', containerId, exit: info });
    return info;
  }

  /** The VM is gone or hung: every process ends with 255 and the reason. */
  failAll(reason: string): void {
    for (const c of this.#containers.values()) {
      for (const e of c.execs.values()) this.finish(e, 255, reason);
      this.finish(c.init, 255, reason);
    }
  }

  /** The process ended: its state changes now; the exit is reported once its output is out. */
  finish(p: SandboxProcess, exitStatus: number, reason?: string): void {
    if (p.state.kind === 'stopped' || p.state.kind === 'deleted') return;
    // A paused process that dies is reported as stopped, not paused.
    p.state = exited(p.state.kind === 'paused' ? { kind: 'running' } : p.state, exitStatus);
    const info: ExitInfo = { exitStatus, exitedAt: (p.state as { exitedAt: Date }).exitedAt, ...(reason ? { reason } : {}) };
    if (reason) this.log.warn({ container: p.containerId, exec: p.execId, exitStatus, reason }, 'process ended by the sandbox');
    p.markExited(info);
    void (async () => {
      if (p.attached) await settlesWithin(p.io.outputDone, this.outputDrainMs);
      this.emit({ type: 'exited', containerId: p.containerId, execId: p.execId, exit: info });
      p.markReported(info);
    })();
  }

  private watchExit(p: SandboxProcess): void {
    let agent: Agent;
    try {
      agent = this.vm.agent();
    } catch (err) {
      this.finish(p, 255, (err as Error).message);
      return;
    }
    agent.waitProcess(p.containerId, p.agentExecId).then(
      (status) => this.finish(p, status),
      (err: unknown) => this.finish(p, 255, `waiting for the process failed: ${(err as Error).message}`),
    );
  }

  /** The process's streams, bound to it: they stop working once it is deleted. */
  private streams(p: SandboxProcess): ProcessStreams {
    const live = (): Agent => {
      if (p.state.kind === 'deleted') throw notFound(`${p.what}: deleted`);
      return this.vm.agent();
    };
    return {
      write: (data) => live().writeStdin(p.containerId, p.agentExecId, data),
      read: (stream, maxBytes) =>
        stream === 'stdout' ? live().readStdout(p.containerId, p.agentExecId, maxBytes) : live().readStderr(p.containerId, p.agentExecId, maxBytes),
      closeStdin: () => live().closeStdin(p.containerId, p.agentExecId),
    };
  }
}
