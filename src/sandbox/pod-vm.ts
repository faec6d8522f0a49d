// The VM side of a sandbox: the virtio-fs share, the pod network, the VM and its agent,
// watched from boot to stop. Anything that makes the VM unusable (QEMU or virtiofsd
// exits, the agent stops answering, the VM process is frozen) fails the sandbox once,
// with a reason; every agent call is bounded.
import type { Agent, AgentRpcObserver } from '../agent/agent.js';
import type { KataConfig } from '../config/index.js';
import { Code, RuntimeError, failedPrecondition } from '../errors/index.js';
import type { VmExit, VmResources } from '../hypervisor/hypervisor.js';
import type { Logger } from '../log/logger.js';
import { setupPodNetwork, teardownPodNetwork, type PodNetwork } from '../network/index.js';
import type { Spec } from '../oci/runtime-spec.js';
import type { AgentAccess } from './containers.js';
import { withDeadline } from '../async/deadline.js';
import { DebugConsoleGate, type DebugConsoleRequest } from './debug-console.js';
import type { DebugConsoleStream } from '../agent/debug-console.js';
import { DEFAULT_HEALTH, watchHealth, type HealthOptions } from './health.js';
import { guestNetworkFor, nicsFor } from './network-plan.js';
import { watchGuestConsole } from './console-watcher.js';
import { pollOomEvents } from './oom-poller.js';
import type { BootSize } from './resources.js';
import { bootSandboxVm, sharedFsStorage, shmStorage, type SandboxVm, type VmBootOptions } from './sandbox-vm.js';
import { setupSharedDirs, sharedDirs, teardownSharedDirs, type SharedDirs } from './shared-fs.js';
import { cleanupSandbox, saveSandboxState } from './state-store.js';
import type { ResizableVm } from './vm-resize.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How long a control call (start, exec, signal, ...) may take before the VM's health is
 * questioned: Kata's request timeout. Under TCG twenty execs at once queue for seconds in
 * the guest; a hung guest is found sooner by the health check, a frozen VM at once.
 */
export const CALL_TIMEOUT_MS = 60_000;

/** What a sandbox's VM is made from; the seams (boot, roots, health) are for tests. */
export interface PodVmSettings {
  readonly id: string;
  readonly config: KataConfig;
  readonly log: Logger;
  /** Replaceable in tests; the real one boots QEMU and dials the agent. */
  readonly boot?: (o: VmBootOptions) => Promise<SandboxVm>;
  readonly sharedRoot?: string;
  readonly vmRoot?: string;
  readonly stateRoot?: string;
  readonly health?: HealthOptions;
  readonly callTimeoutMs?: number;
  /** Told the duration of every agent RPC (the shim's metrics). */
  readonly onAgentRpc?: AgentRpcObserver;
}

export interface PodVmOptions extends PodVmSettings {
  /** The ids persisted for crash cleanup. */
  readonly containers: () => readonly string[];
  /** The VM died or hung: every process must end, with this reason. Called once. */
  readonly onFailure: (reason: string) => void;
  readonly onOom: (containerId: string) => void;
}

/** What ended a VM, in words (the hypervisor names virtiofsd when that was the cause). */
const exitReason = (e: VmExit): string => (e.stderr ? `${e.reason}: ${e.stderr.split('\n').slice(-3).join(' | ')}` : e.reason);

/** The last lines the guest printed on its console (kernel and agent), for the log. */
function consoleTail(path: string, lines = 30): string[] {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}

/** The pod's network namespace (made by CRI/CNI), when the spec names one. */
function networkNamespacePath(spec: Spec): string | undefined {
  return spec.linux?.namespaces?.find((n) => n.type === 'network')?.path || undefined;
}

export class PodVm implements AgentAccess {
  readonly dirs: SharedDirs;
  readonly #runDir: string;
  #vm: SandboxVm | undefined;
  #network: PodNetwork | undefined;
  #failure: string | undefined;
  #stopping: Promise<void> | undefined;
  readonly #abort = new AbortController();
  readonly #console: DebugConsoleGate;

  constructor(private readonly opts: PodVmOptions) {
    this.dirs = sharedDirs(opts.id, opts.sharedRoot);
    this.#runDir = join(opts.vmRoot ?? '/run/vc/vm', opts.id);
    this.#console = new DebugConsoleGate({ sandboxId: opts.id, config: opts.config, log: opts.log });
  }

  get booted(): boolean {
    return this.#vm !== undefined;
  }

  /** Why the sandbox failed, once it did. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** The VM's pid: what containerd is told as every task's pid, as Kata does. */
  get pid(): number {
    return this.#vm?.hypervisor.pid ?? 0;
  }

  agentUrl(): string {
    return this.#vm?.hypervisor.agentUrl ?? '';
  }

  /** The VM's host processes (QEMU first, then its helpers); empty when no VM runs. */
  pids(): readonly number[] {
    return this.#vm?.hypervisor.pids() ?? [];
  }

  /** A shell in the guest (`kata-runtime exec`); refused unless debug_console_enabled. */
  openDebugConsole(req: DebugConsoleRequest): Promise<DebugConsoleStream> {
    const socket = this.#vm?.hypervisor.debugConsoleSocket;
    const vm = this.#failure
      ? new RuntimeError(Code.UNAVAILABLE, `sandbox ${this.opts.id}: ${this.#failure}`)
      : !this.#vm || this.#stopping || !socket
        ? failedPrecondition(`sandbox ${this.opts.id}: the VM is not running`)
        : socket;
    return this.#console.open(vm, req);
  }

  resources(): VmResources | null {
    return this.#vm?.hypervisor.resources() ?? null;
  }

  agent(): Agent {
    if (this.#failure) throw new RuntimeError(Code.UNAVAILABLE, `sandbox ${this.opts.id}: ${this.#failure}`);
    if (!this.#vm || this.#stopping) throw failedPrecondition(`sandbox ${this.opts.id}: the VM is not running`);
    return this.#vm.agent;
  }

  /** The VM for hotplug; only while it runs. */
  resizable(): ResizableVm {
    const agent = this.agent();
    return { hypervisor: this.#vm!.hypervisor, agent };
  }

  /**
   * A control call, bounded. A VM whose process is frozen fails the sandbox at once; a call
   * that times out only fails itself: whether the guest hangs or is just overloaded is the
   * health watch's to tell, and it fails the sandbox (ending this call) when it hangs.
   */
  async call<T>(what: string, fn: (agent: Agent) => Promise<T>): Promise<T> {
    const agent = this.agent();
    if (this.#vm!.hypervisor.frozen()) {
      this.fail(`the VM process ${this.pid} is stopped (SIGSTOP or frozen)`);
      this.agent(); // throws UNAVAILABLE with the reason
    }
    const timeoutMs = this.opts.callTimeoutMs ?? CALL_TIMEOUT_MS;
    try {
      return await withDeadline(fn(agent), timeoutMs, () => new RuntimeError(Code.DEADLINE_EXCEEDED, `agent ${what}: no answer within ${timeoutMs / 1000} s`));
    } catch (err) {
      if (this.#failure) throw new RuntimeError(Code.UNAVAILABLE, `sandbox ${this.opts.id}: ${this.#failure}`, { cause: err });
      throw err;
    }
  }

  async prepareShare(): Promise<void> {
    await setupSharedDirs(this.dirs);
  }

  /** Network, VM, agent, guest network, CreateSandbox, then the watchers. The caller stop()s on failure. */
  async boot(spec: Spec, size: BootSize): Promise<void> {
    const started = Date.now();
    try {
      await this.bootSteps(spec, size);
    } catch (err) {
      this.opts.log.error({ elapsedMs: Date.now() - started, err: (err as Error).message }, 'sandbox boot failed');
      throw err;
    }
    const vm = this.#vm!;
    this.opts.log.info(
      {
        bootMs: Date.now() - started,
        vmBootMs: vm.bootMs,
        ...vm.timing,
        vcpus: size.vcpus,
        memoryMiB: size.memoryMiB,
        agentChannel: vm.hypervisor.capabilities.agentChannel,
        debugConsole: this.opts.config.agent.debugConsoleEnabled,
      },
      'sandbox booted',
    );
  }

  private async bootSteps(spec: Spec, size: BootSize): Promise<void> {
    const { config, log } = this.opts;
    // Kata runtime-rs: [hypervisor.qemu] enable_debug puts the hypervisor's own lines (and the
    // guest console's) at debug level, whatever the shim's level is.
    const vmLog = config.hypervisor.enableDebug ? log.child({}, { level: 'debug' }) : log;
    const netns = networkNamespacePath(spec);
    if (netns) this.#network = await setupPodNetwork({ netnsPath: netns, model: config.runtime.internetworkingModel, log });
    const boot = this.opts.boot ?? bootSandboxVm;
    const net = this.#network;
    this.#vm = await boot({
      sandboxId: this.opts.id,
      config,
      sharedDir: this.dirs.shared,
      runDir: this.#runDir,
      vcpus: size.vcpus,
      memoryMiB: size.memoryMiB,
      ...(size.maxVcpus !== undefined ? { maxVcpus: size.maxVcpus } : {}),
      ...(net?.endpoints.length ? { network: { netns: net.netnsPath, nics: nicsFor(net) } } : {}),
      log: vmLog,
      signal: this.#abort.signal,
      ...(this.opts.onAgentRpc ? { onAgentRpc: this.opts.onAgentRpc } : {}),
      onStarted: (hypervisor) => {
        if (config.hypervisor.enableDebug && hypervisor.consolePath) watchGuestConsole(hypervisor.consolePath, vmLog, hypervisor.exited);
      },
    });
    await this.persist();
    const vm = this.#vm;
    void vm.hypervisor.exited.then((e) => {
      if (!this.#stopping) this.fail(exitReason(e));
    });
    // Kata's order: the guest's network first, then the sandbox.
    if (net?.endpoints.length) await this.configureGuestNetwork(net);
    await vm.agent.createSandbox({ sandboxId: this.opts.id, hostname: spec.hostname ?? '', storages: [sharedFsStorage(), shmStorage()] });
    pollOomEvents(vm.agent, this.opts.onOom, this.#abort.signal, log);
    void watchHealth({
      ...(this.opts.health ?? DEFAULT_HEALTH),
      check: (timeoutMs) => vm.agent.check(timeoutMs),
      vm: vm.hypervisor,
      onHung: (reason) => this.fail(reason),
      signal: this.#abort.signal,
      log,
    });
  }

  /** The VM is unusable: report once, then stop the VM (the share stays until stop()). */
  fail(reason: string): void {
    if (this.#failure || this.#stopping) return;
    this.#failure = reason;
    // What the guest said last is the best clue to why it died or hung.
    const console = this.#vm?.hypervisor.consolePath;
    this.opts.log.error({ reason, guestConsole: console ? consoleTail(console) : [] }, 'sandbox failed');
    this.#abort.abort();
    this.opts.onFailure(reason);
    const vm = this.#vm;
    vm?.agent.close();
    void vm?.hypervisor.stop().catch((err: unknown) => this.opts.log.error({ err }, 'stopping the failed VM failed'));
  }

  /** Stops the VM and releases the network, the share and the state; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#abort.abort();
      this.#console.close();
      const vm = this.#vm;
      vm?.agent.close();
      await vm?.hypervisor.stop();
      if (this.#network) await teardownPodNetwork(this.#network, this.opts.log);
      await teardownSharedDirs(this.dirs);
      await cleanupSandbox(this.opts.id, this.opts.stateRoot);
      this.opts.log.info('sandbox stopped');
    })();
    return this.#stopping;
  }

  persist(): Promise<void> {
    return saveSandboxState(
      {
        sandboxId: this.opts.id,
        vmPid: this.#vm?.hypervisor.pid,
        vmRunDir: this.#runDir,
        sharedRoot: this.dirs.root,
        containers: [...this.opts.containers()],
        network: this.#network,
      },
      this.opts.stateRoot,
    );
  }

  private async configureGuestNetwork(net: PodNetwork): Promise<void> {
    const agent = this.#vm!.agent;
    const guest = guestNetworkFor(net);
    for (const iface of guest.interfaces) await agent.updateInterface(iface);
    if (guest.routes.length) await agent.updateRoutes(guest.routes);
    if (guest.neighbors.length) await agent.addArpNeighbors(guest.neighbors);
    this.opts.log.info(
      { netns: net.netnsPath, interfaces: guest.interfaces.map((i) => ({ name: i.name, mac: i.mac, addresses: i.addresses.map((a) => `${a.address}/${a.prefixLength}`) })) },
      'pod network configured in the guest',
    );
  }
}
