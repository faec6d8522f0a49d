// One pod: its VM (pod-vm.ts), its containers and processes (containers.ts) and their
// resources (resources.ts). The first container boots the VM, every create and update
// resizes it, the last delete stops it. Mutations (create, update, delete) run one at a
// time; reads never wait behind them. Protocol-free: the shim converts containerd's
// messages into these calls once, and maps the events it emits onto containerd's topics.
import type { ContainerStats } from '../agent/agent.js';
import { Code, RuntimeError, alreadyExists } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { LinuxResources, Process, Spec } from '../oci/runtime-spec.js';
import { planContainerMounts, shareContainerMounts } from './container-mounts.js';
import { ContainerManager } from './containers.js';
import type { ExitInfo, SandboxEventSink } from './events.js';
import { guestSpec } from './guest-spec.js';
import { Mutex } from '../async/mutex.js';
import { PodVm, type PodVmSettings } from './pod-vm.js';
import { checkAllowed, type ProcessState } from './process-state.js';
import { SandboxProcess, type HostStdio, type StdioPaths } from './process.js';
import { Resources, type SizingReport } from './resources.js';
import { mountContainerRootfs, releaseContainerShare, type RootfsMount } from './shared-fs.js';
import type { Sizing } from './sizing.js';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { DebugConsoleRequest } from './debug-console.js';

export type { ExitInfo, SandboxEvent, SandboxEventSink } from './events.js';
export type { HostStdio, ProcessStreams, StdioPaths } from './process.js';
export type { SizingReport } from './resources.js';

export interface SandboxOptions extends PodVmSettings {
  /** Every state change, in order, synchronously. */
  readonly onEvent: SandboxEventSink;
  readonly outputDrainMs?: number;
}

export interface CreateRequest {
  readonly id: string;
  readonly bundle: string;
  readonly spec: Spec;
  readonly rootfs: readonly RootfsMount[];
  readonly stdio: StdioPaths;
  readonly io: HostStdio;
}

export interface GuestUsage {
  readonly cpuNs: number;
  readonly memoryBytes: number;
}

/** What State needs of a process. */
export interface ProcessView {
  readonly state: ProcessState;
  readonly stdio: StdioPaths;
  readonly bundle: string;
}

export class Sandbox {
  readonly #mutex = new Mutex();
  readonly #vm: PodVm;
  readonly #containers: ContainerManager;
  readonly #resources: Resources;
  readonly #log: Logger;

  constructor(private readonly opts: SandboxOptions) {
    this.#log = opts.log;
    const { onEvent: _onEvent, outputDrainMs: _drain, ...settings } = opts;
    this.#vm = new PodVm({
      ...settings,
      containers: () => this.#containers.ids,
      onFailure: (reason) => this.#containers.failAll(reason),
      onOom: (containerId) => {
        if (this.#containers.has(containerId)) opts.onEvent({ type: 'oom', containerId });
      },
    });
    this.#containers = new ContainerManager(this.#vm, opts.onEvent, opts.log, opts.outputDrainMs);
    this.#resources = new Resources(opts.config, () => this.#containers.ids.filter((id) => this.#containers.isActive(id)));
  }

  get id(): string {
    return this.opts.id;
  }

  /** The VM's pid: what containerd is told as every task's pid, as Kata does. */
  get pid(): number {
    return this.#vm.pid;
  }

  get containerCount(): number {
    return this.#containers.size;
  }

  get sizing(): Sizing | undefined {
    return this.#resources.sizing;
  }

  /** Why the VM has its size: the configuration's limits, each container's share, caps, what hotplug reached. */
  sizingReport(): SizingReport {
    return this.#resources.report(this.id, this.#vm.resources());
  }

  agentUrl(): string {
    return this.#vm.agentUrl();
  }

  /** The VM's host processes (QEMU first, then its helpers such as virtiofsd); empty when no VM runs. */
  vmPids(): readonly number[] {
    return this.#vm.pids();
  }

  /** The agent's and the guest's metrics, as the agent writes them (Prometheus text). */
  guestMetrics(): Promise<string> {
    return this.#vm.call('GetMetrics', (a) => a.getMetrics());
  }

  /**
   * What the guest's running containers use, from their cgroups: CPU time in ns and memory in
   * bytes, summed (a container that cannot answer is left out). The VM's cost beyond this is
   * the pod's overhead.
   */
  async guestUsage(): Promise<GuestUsage> {
    const ids = this.#containers.ids.filter((id) => this.#containers.isActive(id));
    const stats = await Promise.all(ids.map((id) => this.#containers.stats(id).catch(() => undefined)));
    let cpuNs = 0;
    let memoryBytes = 0;
    for (const s of stats) {
      cpuNs += s?.cgroupStats?.cpuStats.cpuUsage.totalUsage ?? 0;
      memoryBytes += s?.cgroupStats?.memoryStats.usage.usage ?? 0;
    }
    return { cpuNs, memoryBytes };
  }

  /** A shell in the VM through the agent's debug console; refused unless debug_console_enabled. */
  openDebugConsole(req: DebugConsoleRequest): Promise<Duplex> {
    return this.#vm.openDebugConsole(req);
  }

  /** Mounts the rootfs and volumes into the share, boots the VM (first container) or resizes it, creates the container in the guest. */
  createContainer(req: CreateRequest): Promise<void> {
    return this.#mutex.run(async () => {
      if (this.#containers.has(req.id)) throw alreadyExists(`container ${req.id}: already exists`);
      if (this.#vm.failure) throw new RuntimeError(Code.UNAVAILABLE, `sandbox ${this.id}: ${this.#vm.failure}`);
      const log = this.#log.child({ container: req.id });
      const mounts = planContainerMounts(req.id, req.spec.mounts ?? []);
      const first = !this.#vm.booted;
      if (first) await this.#vm.prepareShare();
      try {
        await mountContainerRootfs(this.#vm.dirs, req.id, req.rootfs, join(req.bundle, 'rootfs'));
        await shareContainerMounts(this.#vm.dirs, req.id, mounts.binds);
        this.#containers.register({ id: req.id, bundle: req.bundle, spec: req.spec, init: new SandboxProcess(req.id, '', req.id, req.stdio, req.io), execs: new Map() });
        this.#resources.track(req.id, req.spec);
        if (first) await this.#vm.boot(req.spec, this.#resources.bootSize(req.spec, log));
        await this.#resources.apply(this.#vm.resizable(), log, first ? 'sandbox booted' : 'container created');
        const guest = guestSpec(req.spec, { containerId: req.id, mounts: mounts.guestMounts, disableGuestSeccomp: this.opts.config.runtime.disableGuestSeccomp });
        await this.#vm.call('CreateContainer', (a) => a.createContainer({ containerId: req.id, spec: guest.spec, sandboxPidns: guest.sandboxPidns }));
        await this.#vm.persist();
        log.info('container created');
        this.opts.onEvent({ type: 'created', containerId: req.id, bundle: req.bundle, rootfs: req.rootfs, stdio: req.stdio });
      } catch (err) {
        this.#containers.unregister(req.id);
        this.#resources.forget(req.id);
        await releaseContainerShare(this.#vm.dirs, req.id).catch((e: unknown) => log.error({ err: e }, 'cannot release the container share'));
        if (this.#containers.size === 0) await this.#vm.stop();
        throw err;
      }
    });
  }

  start(containerId: string, execId = ''): Promise<void> {
    return this.#containers.start(containerId, execId);
  }

  /** Registers an exec (started by start()); nothing is registered when it throws. */
  exec(containerId: string, execId: string, process: Process, stdio: StdioPaths, io: HostStdio): void {
    this.#containers.addExec(containerId, execId, process, () => new SandboxProcess(containerId, execId, execId, stdio, io, process));
  }

  kill(containerId: string, execId: string, signal: number): Promise<void> {
    return this.#containers.kill(containerId, execId, signal);
  }

  pause(containerId: string): Promise<void> {
    return this.#containers.pause(containerId);
  }

  resume(containerId: string): Promise<void> {
    return this.#containers.resume(containerId);
  }

  closeStdin(containerId: string, execId: string): Promise<void> {
    return this.#containers.closeStdin(containerId, execId);
  }

  resizePty(containerId: string, execId: string, rows: number, columns: number): Promise<void> {
    return this.#containers.resizePty(containerId, execId, rows, columns);
  }

  stats(containerId: string): Promise<ContainerStats> {
    return this.#containers.stats(containerId);
  }

  process(containerId: string, execId = ''): ProcessView {
    const p = this.#containers.process(containerId, execId);
    return { state: p.state, stdio: p.stdio, bundle: this.#containers.container(containerId).bundle };
  }

  /** Resolves once the process's exit was reported (its output is out, the event emitted). */
  wait(containerId: string, execId = ''): Promise<ExitInfo> {
    return this.#containers.process(containerId, execId).reported;
  }

  /** The VM grows before the container's cgroups do, so the new limit has room. */
  update(containerId: string, resources: LinuxResources): Promise<void> {
    return this.#mutex.run(async () => {
      const c = this.#containers.container(containerId);
      checkAllowed(c.init.what, c.init.state, 'update');
      const undo = this.#resources.update(containerId, resources);
      try {
        await this.#resources.apply(this.#vm.resizable(), this.#log.child({ container: containerId }), 'container updated');
        // Guest CPU numbering differs from the host's: never forward a cpuset.
        const guest: LinuxResources = { ...resources, cpu: resources.cpu ? { ...resources.cpu, cpus: undefined } : undefined };
        await this.#vm.call('UpdateContainer', (a) => a.updateContainer(containerId, guest));
      } catch (err) {
        undo();
        throw err;
      }
    });
  }

  /** Deletes an exec, or the container with its init; the last container stops the VM. */
  delete(containerId: string, execId = ''): Promise<ExitInfo> {
    return this.#mutex.run(async () => {
      const info = await this.#containers.delete(containerId, execId);
      if (execId !== '') return info;
      const log = this.#log.child({ container: containerId });
      this.#resources.forget(containerId);
      if (!this.#vm.failure && this.#vm.booted) {
        await this.#vm.call('RemoveContainer', (a) => a.removeContainer(containerId)).catch((err: unknown) => log.warn({ err }, 'agent RemoveContainer failed'));
      }
      await releaseContainerShare(this.#vm.dirs, containerId);
      if (this.#containers.size === 0) await this.#vm.stop();
      else {
        await this.#vm.persist();
        if (!this.#vm.failure) await this.#resources.apply(this.#vm.resizable(), log, 'container deleted').catch((err: unknown) => log.warn({ err }, 'shrink after delete failed'));
      }
      return info;
    });
  }

  /** Stops the VM and releases every mount and directory; idempotent, never waits behind a mutation. */
  stop(): Promise<void> {
    return this.#vm.stop();
  }
}
