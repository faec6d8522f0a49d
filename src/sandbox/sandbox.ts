// One pod: one VM, its containers and their processes. The first container boots the
// VM, every create and update resizes it, the last delete stops it. Protocol-free:
// the shim converts containerd's messages into these calls once.
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Agent, ContainerStats } from '../agent/agent.js';
import type { KataConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { LinuxResources, Process, Spec } from '../oci/runtime-spec.js';
import { Code, RuntimeError } from '../errors/index.js';
import { checkAllowed, exited, transition, type ProcessState } from './process-state.js';
import { setupPodNetwork, teardownPodNetwork, type PodNetwork } from '../network/index.js';
import { planContainerMounts, shareContainerMounts } from './container-mounts.js';
import { guestSpec } from './guest-spec.js';
import { guestNetworkFor, nicsFor } from './network-plan.js';
import { bootSandboxVm, sharedFsStorage, shmStorage, type SandboxVm, type VmBootOptions } from './sandbox-vm.js';
import {
  mountContainerRootfs,
  setupSharedDirs,
  sharedDirs,
  teardownSharedDirs,
  releaseContainerShare,
  type RootfsMount,
  type SharedDirs,
} from './shared-fs.js';
import { applyResourceUpdate, computeSizing, resourcesFromSpec, type ContainerResources, type Sizing, type SizingConfig } from './sizing.js';
import { staticSizing, type StaticSizing } from './static-sizing.js';
import { cleanupSandbox, saveSandboxState } from './state-store.js';
import { resizeVm, type ResizeOutcome } from './vm-resize.js';

export interface SizingReport {
  readonly sandboxId: string;
  readonly mode: string;
  readonly current: { readonly vcpus: number; readonly memoryMiB: number } | null;
  readonly config: Readonly<Record<string, number>>;
  readonly static: StaticSizing | null;
  readonly target: Sizing | null;
  readonly lastResize: ResizeOutcome | null;
}

export interface ExitInfo {
  readonly exitStatus: number;
  readonly exitedAt: Date;
}

interface ProcessEntry {
  state: ProcessState;
  /** The id the agent knows the process by (Kata uses the container id for init). */
  readonly agentExecId: string;
  readonly exit: Promise<ExitInfo>;
  resolveExit(e: ExitInfo): void;
  /** An exec's process spec, sent to the agent at Start (as Kata does). */
  readonly process?: Process;
}

interface ContainerEntry {
  readonly id: string;
  readonly spec: Spec;
  resources: ContainerResources;
  readonly init: ProcessEntry;
  readonly execs: Map<string, ProcessEntry>;
}

export interface SandboxOptions {
  readonly id: string;
  readonly config: KataConfig;
  readonly log: Logger;
  /** Replaceable in tests; the real one boots QEMU and dials the agent. */
  readonly boot?: (o: VmBootOptions) => Promise<SandboxVm>;
  readonly sharedRoot?: string;
  readonly vmRoot?: string;
  readonly stateRoot?: string;
}

export interface SandboxEvents {
  /** A process ended: emitted once, after its state changed to stopped. */
  exit: [containerId: string, execId: string, info: ExitInfo];
  oom: [containerId: string];
  /** The VM is gone (QEMU exited or was stopped). */
  vmExit: [];
}

/** The pod's network namespace (made by CRI/CNI), when the spec names one. */
function networkNamespacePath(spec: Spec): string | undefined {
  return spec.linux?.namespaces?.find((n) => n.type === 'network')?.path || undefined;
}

function newProcess(agentExecId: string, process?: Process): ProcessEntry {
  let resolveExit!: (e: ExitInfo) => void;
  const exit = new Promise<ExitInfo>((r) => (resolveExit = r));
  return { state: { kind: 'created' }, agentExecId, exit, resolveExit, process };
}

export class Sandbox extends EventEmitter<SandboxEvents> {
  private vm: SandboxVm | undefined;
  private readonly containers = new Map<string, ContainerEntry>();
  private readonly dirs: SharedDirs;
  private readonly vmRunDir: string;
  private lastSizing: Sizing | undefined;
  private lastResize: ResizeOutcome | undefined;
  private fixedSizing: StaticSizing | undefined;
  private staticSize = false;
  private stopping: Promise<void> | undefined;
  private network: PodNetwork | undefined;
  private readonly oomAbort = new AbortController();

  constructor(private readonly opts: SandboxOptions) {
    super();
    this.dirs = sharedDirs(opts.id, opts.sharedRoot);
    this.vmRunDir = join(opts.vmRoot ?? '/run/vc/vm', opts.id);
  }

  get id(): string {
    return this.opts.id;
  }

  /** The VM's pid: what containerd is told as every task's pid, as Kata does. */
  get pid(): number {
    return this.vm?.hypervisor.pid ?? 0;
  }

  get containerCount(): number {
    return this.containers.size;
  }

  /** Sizing inputs and the last decision, for the management endpoint and logs. */
  get sizing(): Sizing | undefined {
    return this.lastSizing;
  }

  /**
   * Why the VM has its size: the configuration's limits, each container's contribution,
   * the target, the caps applied, and what hotplug actually reached.
   */
  sizingReport(): SizingReport {
    const h = this.opts.config.hypervisor;
    return {
      sandboxId: this.id,
      mode: this.fixedSizing ? `static (${this.fixedSizing.source})` : 'dynamic: recomputed on every container create, update and delete',
      current: this.vm?.hypervisor.resources() ?? null,
      config: {
        defaultVcpus: h.defaultVcpus,
        defaultMaxVcpus: h.defaultMaxVcpus,
        defaultMemoryMiB: h.defaultMemoryMiB,
        defaultMaxMemoryMiB: h.defaultMaxMemoryMiB,
        memorySlots: h.memorySlots,
      },
      static: this.fixedSizing ?? null,
      target: this.lastSizing ?? null,
      lastResize: this.lastResize ?? null,
    };
  }

  agentUrl(): string {
    return this.vm?.hypervisor.agentUrl ?? '';
  }

  /** The agent's stdio calls, for the shim's FIFO copies. */
  get agent(): Agent {
    if (!this.vm) throw new RuntimeError(Code.FAILED_PRECONDITION, `sandbox ${this.id}: the VM is not running`);
    return this.vm.agent;
  }

  async createContainer(req: { id: string; bundle: string; spec: Spec; rootfs: readonly RootfsMount[] }): Promise<void> {
    if (this.containers.has(req.id)) throw new RuntimeError(Code.ALREADY_EXISTS, `container ${req.id}: already exists`);
    const log = this.opts.log.child({ container: req.id });
    const resources = resourcesFromSpec(req.spec.linux?.resources);
    const entry: ContainerEntry = { id: req.id, spec: req.spec, resources, init: newProcess(req.id), execs: new Map() };
    const first = !this.vm;
    if (first) await setupSharedDirs(this.dirs);
    let mounted = false;
    try {
      const mounts = planContainerMounts(req.id, req.spec.mounts ?? []);
      await mountContainerRootfs(this.dirs, req.id, req.rootfs, join(req.bundle, 'rootfs'));
      mounted = true;
      await shareContainerMounts(this.dirs, req.id, mounts.binds);
      this.containers.set(req.id, entry);
      if (first) await this.bootVm(req.spec);
      else await this.resize(log);
      const guest = guestSpec(req.spec, {
        containerId: req.id,
        mounts: mounts.guestMounts,
        disableGuestSeccomp: this.opts.config.runtime.disableGuestSeccomp,
      });
      await this.vm!.agent.createContainer({ containerId: req.id, spec: guest.spec, sandboxPidns: guest.sandboxPidns });
      await this.persist();
      log.info('container created');
    } catch (err) {
      this.containers.delete(req.id);
      if (mounted) await releaseContainerShare(this.dirs, req.id).catch(() => undefined);
      if (this.containers.size === 0) await this.stop();
      throw err;
    }
  }

  async start(containerId: string, execId = ''): Promise<void> {
    const c = this.container(containerId);
    const p = this.process(c, execId);
    checkAllowed(this.what(containerId, execId), p.state, 'start');
    if (execId === '') await this.agent.startContainer(containerId);
    else {
      checkAllowed(this.what(containerId), c.init.state, 'exec');
      await this.agent.execProcess(containerId, p.agentExecId, p.process!);
    }
    p.state = transition(this.what(containerId, execId), p.state, 'start');
    this.watchExit(containerId, execId, p);
  }

  /** Registers an exec; the agent starts it at Start. */
  exec(containerId: string, execId: string, process: Process): void {
    const c = this.container(containerId);
    if (c.execs.has(execId)) throw new RuntimeError(Code.ALREADY_EXISTS, `exec ${execId} of ${containerId}: already exists`);
    checkAllowed(this.what(containerId), c.init.state, 'exec');
    c.execs.set(execId, newProcess(execId, process));
  }

  agentExecId(containerId: string, execId = ''): string {
    return this.process(this.container(containerId), execId).agentExecId;
  }

  state(containerId: string, execId = ''): ProcessState {
    return this.process(this.container(containerId), execId).state;
  }

  wait(containerId: string, execId = ''): Promise<ExitInfo> {
    return this.process(this.container(containerId), execId).exit;
  }

  async kill(containerId: string, execId: string, signal: number): Promise<void> {
    const c = this.container(containerId);
    const p = this.process(c, execId);
    checkAllowed(this.what(containerId, execId), p.state, 'kill');
    if (p.state.kind === 'stopped') {
      // containerd's runc shim: killing a finished process with KILL/TERM is not an error.
      if (signal === 9 || signal === 15) return;
      throw new RuntimeError(Code.NOT_FOUND, `${this.what(containerId, execId)}: process already finished`);
    }
    if (p.state.kind === 'created' && execId === '') {
      // Never started: nothing runs in the guest yet; it simply ends.
      this.finish(containerId, execId, p, 128 + signal);
      return;
    }
    // Kata signals init together with every process of its container (empty exec id).
    await this.agent.signalProcess(containerId, execId === '' ? '' : p.agentExecId, signal);
  }

  async pause(containerId: string): Promise<void> {
    this.transitionInit(containerId, 'pause');
    await this.agent.pauseContainer(containerId);
    this.container(containerId).init.state = { kind: 'paused' };
  }

  async resume(containerId: string): Promise<void> {
    this.transitionInit(containerId, 'resume');
    await this.agent.resumeContainer(containerId);
    this.container(containerId).init.state = { kind: 'running' };
  }

  async update(containerId: string, resources: LinuxResources): Promise<void> {
    const c = this.container(containerId);
    checkAllowed(this.what(containerId), c.init.state, 'update');
    const before = c.resources;
    c.resources = applyResourceUpdate(before, resources);
    try {
      // The VM grows before the container's cgroups do, so the new limit has room.
      await this.resize(this.opts.log.child({ container: containerId }));
      // Guest CPU numbering differs from the host's: never forward a cpuset.
      const guest: LinuxResources = { ...resources, cpu: resources.cpu ? { ...resources.cpu, cpus: undefined } : undefined };
      await this.agent.updateContainer(containerId, guest);
    } catch (err) {
      c.resources = before;
      throw err;
    }
  }

  stats(containerId: string): Promise<ContainerStats> {
    const c = this.container(containerId);
    checkAllowed(this.what(containerId), c.init.state, 'stats');
    return this.agent.statsContainer(containerId);
  }

  /** Deletes an exec, or the container with its init; the last container stops the VM. */
  async delete(containerId: string, execId = ''): Promise<ExitInfo> {
    const c = this.container(containerId);
    const p = this.process(c, execId);
    const what = this.what(containerId, execId);
    checkAllowed(what, p.state, 'delete');
    p.state = transition(what, p.state, 'delete');
    const info = p.state.kind === 'deleted' ? { exitStatus: p.state.exitStatus, exitedAt: p.state.exitedAt } : { exitStatus: 0, exitedAt: new Date() };
    if (execId !== '') {
      c.execs.delete(execId);
      return info;
    }
    for (const e of c.execs.values()) this.finish(containerId, '', e, 255);
    this.containers.delete(containerId);
    await this.vm?.agent.removeContainer(containerId).catch((err: unknown) => this.opts.log.warn({ err, container: containerId }, 'agent RemoveContainer failed'));
    await releaseContainerShare(this.dirs, containerId);
    if (this.containers.size === 0) await this.stop();
    else {
      await this.persist();
      await this.resize(this.opts.log.child({ container: containerId })).catch((err: unknown) => this.opts.log.warn({ err }, 'shrink after delete failed'));
    }
    return info;
  }

  /** Stops the VM and releases every mount and directory; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.oomAbort.abort();
      const vm = this.vm;
      vm?.agent.close();
      await vm?.hypervisor.stop();
      if (this.network) await teardownPodNetwork(this.network, this.opts.log);
      await teardownSharedDirs(this.dirs);
      await cleanupSandbox(this.id, this.opts.stateRoot);
      this.opts.log.info('sandbox stopped');
    })();
    return this.stopping;
  }

  // ---- internals ----------------------------------------------------------------

  private sizingConfig(): SizingConfig {
    const h = this.opts.config.hypervisor;
    return { defaultVcpus: h.defaultVcpus, maxVcpus: h.defaultMaxVcpus, defaultMemoryMiB: h.defaultMemoryMiB, maxMemoryMiB: h.defaultMaxMemoryMiB, memoryBlockMiB: 128 };
  }

  private shares(): { id: string; resources: ContainerResources }[] {
    return [...this.containers.values()].filter((c) => c.init.state.kind !== 'stopped').map((c) => ({ id: c.id, resources: c.resources }));
  }

  private async bootVm(spec: Spec): Promise<void> {
    const cfg = this.sizingConfig();
    const fixed = staticSizing(cfg, this.opts.config.runtime.staticSandboxResourceMgmt, spec.annotations ?? {}, spec.linux?.resources);
    this.staticSize = fixed !== undefined;
    this.fixedSizing = fixed;
    const sizing = computeSizing(cfg, this.shares());
    this.lastSizing = sizing;
    // Dynamic sizing boots with default_memory and hot-adds the containers' share, as Kata
    // does: hot-added blocks count fully in the guest's MemTotal, boot RAM loses its memmap.
    const size = fixed ?? { vcpus: sizing.vcpus, memoryMiB: cfg.defaultMemoryMiB };
    this.opts.log.info({ vcpus: size.vcpus, memoryMiB: size.memoryMiB, static: fixed?.source, reasons: fixed ? fixed.inputs : { cpu: sizing.cpu, memory: sizing.memory } }, 'booting sandbox VM');
    const netns = networkNamespacePath(spec);
    if (netns) this.network = await setupPodNetwork({ netnsPath: netns, model: this.opts.config.runtime.internetworkingModel, log: this.opts.log });
    const boot = this.opts.boot ?? bootSandboxVm;
    this.vm = await boot({
      sandboxId: this.id,
      config: this.opts.config,
      sharedDir: this.dirs.shared,
      runDir: this.vmRunDir,
      vcpus: size.vcpus,
      memoryMiB: size.memoryMiB,
      maxVcpus: fixed ? fixed.vcpus : undefined,
      network: this.network?.endpoints.length ? { netns: this.network.netnsPath, nics: nicsFor(this.network) } : undefined,
      log: this.opts.log,
    });
    await this.persist();
    void this.vm.hypervisor.exited.then(() => this.onVmExit());
    // Kata's order: the guest's network first, then the sandbox.
    if (this.network?.endpoints.length) await this.configureGuestNetwork(this.network);
    await this.vm.agent.createSandbox({ sandboxId: this.id, hostname: spec.hostname ?? '', storages: [sharedFsStorage(), shmStorage()] });
    void this.watchOom();
    if (!fixed && sizing.memoryMiB > size.memoryMiB) await this.resize(this.opts.log);
  }

  private async configureGuestNetwork(net: PodNetwork): Promise<void> {
    const guest = guestNetworkFor(net);
    for (const iface of guest.interfaces) await this.vm!.agent.updateInterface(iface);
    if (guest.routes.length) await this.vm!.agent.updateRoutes(guest.routes);
    if (guest.neighbors.length) await this.vm!.agent.addArpNeighbors(guest.neighbors);
    this.opts.log.info({ netns: net.netnsPath, interfaces: guest.interfaces.map((i) => ({ name: i.name, mac: i.mac, addresses: i.addresses.map((a) => `${a.address}/${a.prefixLength}`) })) }, 'pod network configured in the guest');
  }

  private async resize(log: Logger): Promise<void> {
    if (!this.vm || this.staticSize) return;
    const sizing = computeSizing(this.sizingConfig(), this.shares());
    this.lastSizing = sizing;
    log.info({ vcpus: sizing.vcpus, memoryMiB: sizing.memoryMiB, cpu: sizing.cpu, memory: sizing.memory }, 'sandbox sizing');
    this.lastResize = await resizeVm(this.vm, sizing, log);
  }

  private watchExit(containerId: string, execId: string, p: ProcessEntry): void {
    this.agent.waitProcess(containerId, p.agentExecId).then(
      (status) => this.finish(containerId, execId, p, status),
      (err: unknown) => {
        this.opts.log.warn({ err, container: containerId, exec: execId }, 'wait failed; reporting exit 255');
        this.finish(containerId, execId, p, 255);
      },
    );
  }

  private finish(containerId: string, execId: string, p: ProcessEntry, status: number): void {
    if (p.state.kind === 'stopped' || p.state.kind === 'deleted') return;
    const wasPaused = p.state.kind === 'paused';
    p.state = exited(wasPaused ? { kind: 'running' } : p.state, status);
    const info = { exitStatus: status, exitedAt: (p.state as { exitedAt: Date }).exitedAt };
    p.resolveExit(info);
    this.emit('exit', containerId, execId, info);
  }

  private async watchOom(): Promise<void> {
    const signal = this.oomAbort.signal;
    while (!signal.aborted && this.vm) {
      try {
        const id = await this.vm.agent.nextOomEvent(signal);
        if (this.containers.has(id)) this.emit('oom', id);
      } catch (err) {
        if (!signal.aborted && (err as RuntimeError).code !== Code.UNIMPLEMENTED) this.opts.log.debug({ err }, 'OOM watch ended');
        return;
      }
    }
  }

  private onVmExit(): void {
    for (const c of this.containers.values()) {
      for (const [id, e] of c.execs) this.finish(c.id, id, e, 255);
      if (c.init.state.kind !== 'created') this.finish(c.id, '', c.init, 255);
    }
    this.emit('vmExit');
  }

  private transitionInit(containerId: string, op: 'pause' | 'resume'): void {
    const c = this.container(containerId);
    transition(this.what(containerId), c.init.state, op);
  }

  private container(id: string): ContainerEntry {
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError(Code.NOT_FOUND, `container ${id}: not found`);
    return c;
  }

  private process(c: ContainerEntry, execId: string): ProcessEntry {
    if (execId === '') return c.init;
    const p = c.execs.get(execId);
    if (!p) throw new RuntimeError(Code.NOT_FOUND, `exec ${execId} of container ${c.id}: not found`);
    return p;
  }

  private what(containerId: string, execId = ''): string {
    return execId ? `exec ${execId} of container ${containerId}` : `container ${containerId}`;
  }

  private persist(): Promise<void> {
    return saveSandboxState(
      {
        sandboxId: this.id,
        vmPid: this.vm?.hypervisor.pid,
        vmRunDir: this.vmRunDir,
        sharedRoot: this.dirs.root,
        containers: [...this.containers.keys()],
        network: this.network,
      },
      this.opts.stateRoot,
    );
  }
}

