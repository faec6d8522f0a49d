// A VM without QEMU for unit and component tests of the sandbox and the task service:
// an in-memory agent whose processes a test ends, feeds and hangs at will, and a
// hypervisor that records hotplug (and notices two resizes at once). Booted through the
// Sandbox's boot seam.
import type { Agent, ContainerStats, GuestInterface, GuestNeighbor, GuestRoute, GuestStorage } from '../../src/agent/agent.js';
import { statsFromGrpc } from '../../src/agent/stats.js';
import { Code, RuntimeError, alreadyExists, notFound } from '../../src/errors/index.js';
import type { Hypervisor, HypervisorCapabilities, ResizeResult, VmExit, VmResources } from '../../src/hypervisor/hypervisor.js';
import { isStoppedState, processState } from '../../src/hypervisor/proc-stat.js';
import type { LinuxResources, Process, Spec } from '../../src/oci/runtime-spec.js';
import type { HostStdio, ProcessStreams } from '../../src/sandbox/sandbox.js';
import type { SandboxVm, VmBootOptions } from '../../src/sandbox/sandbox-vm.js';

class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (v: T) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }
}

/** An output stream in the guest: reads wait for data; an empty read is the end. */
class GuestStream {
  private chunks: Buffer[] = [];
  private ended = false;
  private waiter: (() => void) | undefined;
  push(data: string | Buffer): void {
    this.chunks.push(Buffer.from(data));
    this.wake();
  }
  end(): void {
    this.ended = true;
    this.wake();
  }
  async read(max: number): Promise<Uint8Array> {
    while (this.chunks.length === 0 && !this.ended) await new Promise<void>((r) => (this.waiter = r));
    const c = this.chunks.shift();
    if (!c) return new Uint8Array();
    if (c.length > max) this.chunks.unshift(c.subarray(max));
    return c.subarray(0, max);
  }
  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

export class FakeProcess {
  readonly exit = new Deferred<number>();
  readonly stdout = new GuestStream();
  readonly stderr = new GuestStream();
  readonly stdin: Buffer[] = [];
  stdinClosed = false;
  exited = false;
  /** Signals it ignores (a trap); others end it with 128 + n. */
  readonly ignores = new Set<number>();
  constructor(readonly process?: Process) {}
  end(status: number): void {
    if (this.exited) return;
    this.exited = true;
    this.stdout.end();
    this.stderr.end();
    this.exit.resolve(status);
  }
}

interface FakeContainer {
  readonly spec: Spec;
  readonly sandboxPidns: boolean;
  started: boolean;
  paused: boolean;
  readonly processes: Map<string, FakeProcess>;
  resources?: LinuxResources;
}

/** Every call, in order, e.g. "StartContainer c1" or "SignalProcess c1/ 15". */
export type CallLog = string[];

export class FakeAgent implements Agent {
  readonly calls: CallLog = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly storages: GuestStorage[] = [];
  readonly interfaces: GuestInterface[] = [];
  /** When set, every call (but reads and waits already pending) hangs forever. */
  hung = false;
  private readonly closedD = new Deferred<void>();
  private readonly oomQueue: string[] = [];
  private readonly oomWaiters: Array<{ resolve: (id: string) => void; reject: (e: unknown) => void }> = [];
  readonly closed = this.closedD.promise;
  private isClosed = false;

  /** The guest process, for tests to feed and end. */
  process(containerId: string, execId = containerId): FakeProcess {
    const p = this.containers.get(containerId)?.processes.get(execId);
    if (!p) throw new Error(`fake agent: no process ${containerId}/${execId}`);
    return p;
  }

  /** An OOM in the guest: queued for the next GetOOMEvent, like the real agent. */
  oom(containerId: string): void {
    const w = this.oomWaiters.shift();
    if (w) w.resolve(containerId);
    else this.oomQueue.push(containerId);
  }

  private async enter(call: string): Promise<void> {
    this.calls.push(call);
    if (this.isClosed) throw new RuntimeError(Code.UNAVAILABLE, 'fake agent: connection closed');
    if (this.hung) await new Promise(() => undefined);
  }

  private container(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found`);
    return c;
  }

  async check(timeoutMs = 30_000): Promise<void> {
    this.calls.push('Check');
    if (this.isClosed) throw new RuntimeError(Code.UNAVAILABLE, 'fake agent: connection closed');
    if (this.hung) {
      await new Promise((r) => setTimeout(r, timeoutMs));
      throw new RuntimeError(Code.DEADLINE_EXCEEDED, 'fake agent: Check timed out');
    }
  }
  async createSandbox(req: { storages: readonly GuestStorage[] }): Promise<void> {
    await this.enter('CreateSandbox');
    this.storages.push(...req.storages);
  }
  async destroySandbox(): Promise<void> {
    await this.enter('DestroySandbox');
  }
  async createContainer(req: { containerId: string; spec: Spec; sandboxPidns?: boolean }): Promise<void> {
    await this.enter(`CreateContainer ${req.containerId}`);
    if (this.containers.has(req.containerId)) throw alreadyExists(`container ${req.containerId} already exists`);
    this.containers.set(req.containerId, {
      spec: req.spec,
      sandboxPidns: !!req.sandboxPidns,
      started: false,
      paused: false,
      processes: new Map([[req.containerId, new FakeProcess(req.spec.process)]]),
    });
  }
  async startContainer(containerId: string): Promise<void> {
    await this.enter(`StartContainer ${containerId}`);
    this.container(containerId).started = true;
  }
  async removeContainer(containerId: string): Promise<void> {
    await this.enter(`RemoveContainer ${containerId}`);
    const c = this.container(containerId);
    for (const p of c.processes.values()) p.end(137);
    this.containers.delete(containerId);
  }
  async execProcess(containerId: string, execId: string, process: Process): Promise<void> {
    await this.enter(`ExecProcess ${containerId}/${execId}`);
    const c = this.container(containerId);
    if (c.processes.has(execId)) throw alreadyExists(`exec ${execId} already exists`);
    c.processes.set(execId, new FakeProcess(process));
  }
  async signalProcess(containerId: string, execId: string, signal: number): Promise<void> {
    await this.enter(`SignalProcess ${containerId}/${execId} ${signal}`);
    const c = this.container(containerId);
    // Kata: an empty exec id signals init and every process of the container.
    const targets = execId === '' ? [...c.processes.values()] : [c.processes.get(execId)].filter((p): p is FakeProcess => !!p);
    if (targets.length === 0) throw notFound(`process ${execId} not found`);
    for (const p of targets) if (signal !== 0 && !p.ignores.has(signal)) p.end(128 + signal);
  }
  async waitProcess(containerId: string, execId: string): Promise<number> {
    this.calls.push(`WaitProcess ${containerId}/${execId}`);
    return this.process(containerId, execId).exit.promise;
  }
  async writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number> {
    const p = this.process(containerId, execId);
    p.stdin.push(Buffer.from(data));
    return data.length;
  }
  readStdout(containerId: string, execId: string, maxBytes: number): Promise<Uint8Array> {
    return this.process(containerId, execId).stdout.read(maxBytes);
  }
  readStderr(containerId: string, execId: string, maxBytes: number): Promise<Uint8Array> {
    return this.process(containerId, execId).stderr.read(maxBytes);
  }
  async closeStdin(containerId: string, execId: string): Promise<void> {
    this.calls.push(`CloseStdin ${containerId}/${execId}`);
    this.process(containerId, execId).stdinClosed = true;
  }
  async ttyWinResize(containerId: string, execId: string, rows: number, columns: number): Promise<void> {
    await this.enter(`TtyWinResize ${containerId}/${execId} ${rows}x${columns}`);
  }
  async updateContainer(containerId: string, resources: LinuxResources): Promise<void> {
    await this.enter(`UpdateContainer ${containerId}`);
    this.container(containerId).resources = resources;
  }
  async statsContainer(containerId: string): Promise<ContainerStats> {
    await this.enter(`StatsContainer ${containerId}`);
    this.container(containerId);
    return statsFromGrpc({ cgroupStats: { memoryStats: { usage: { usage: 4096 } }, cpuStats: { cpuUsage: { totalUsage: 1000 } } } });
  }
  async pauseContainer(containerId: string): Promise<void> {
    await this.enter(`PauseContainer ${containerId}`);
    this.container(containerId).paused = true;
  }
  async resumeContainer(containerId: string): Promise<void> {
    await this.enter(`ResumeContainer ${containerId}`);
    this.container(containerId).paused = false;
  }
  async onlineCpuMem(req: { nbCpus: number; cpuOnly: boolean }): Promise<void> {
    await this.enter(`OnlineCPUMem ${req.nbCpus} ${req.cpuOnly}`);
  }
  async guestDetails(): Promise<{ memBlockSizeBytes: number; agentVersion: string }> {
    return { memBlockSizeBytes: 128 << 20, agentVersion: 'fake' };
  }
  async updateInterface(iface: GuestInterface): Promise<void> {
    await this.enter(`UpdateInterface ${iface.name}`);
    this.interfaces.push(iface);
  }
  async updateRoutes(routes: readonly GuestRoute[]): Promise<void> {
    await this.enter(`UpdateRoutes ${routes.length}`);
  }
  async addArpNeighbors(neighbors: readonly GuestNeighbor[]): Promise<void> {
    await this.enter(`AddARPNeighbors ${neighbors.length}`);
  }
  /** What GetMetrics answers: Prometheus text, as the guest agent writes it. */
  metricsText = '# HELP kata_guest_meminfo Statistics about memory usage in the system.\n# TYPE kata_guest_meminfo gauge\nkata_guest_meminfo{item="mem_total"} 536870912\n';
  async getMetrics(): Promise<string> {
    await this.enter('GetMetrics');
    return this.metricsText;
  }
  nextOomEvent(signal?: AbortSignal): Promise<string> {
    const queued = this.oomQueue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.oomWaiters.push(w);
      signal?.addEventListener('abort', () => {
        this.oomWaiters.splice(this.oomWaiters.indexOf(w), 1);
        reject(new RuntimeError(Code.CANCELLED, 'aborted'));
      }, { once: true });
    });
  }
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const w of this.oomWaiters.splice(0)) w.reject(new RuntimeError(Code.UNAVAILABLE, 'closed'));
    // Pending reads end with the connection, as ttrpc calls do.
    for (const c of this.containers.values()) {
      for (const p of c.processes.values()) {
        p.stdout.end();
        p.stderr.end();
      }
    }
    this.closedD.resolve();
  }
}

export class FakeHypervisor implements Hypervisor {
  readonly capabilities: HypervisorCapabilities = {
    cpuHotplug: true,
    cpuHotUnplug: true,
    memoryHotplug: true,
    memoryHotUnplug: false,
    sharedFs: 'virtio-fs',
    agentChannel: 'serial',
  };
  readonly agentUrl = 'fake://agent';
  /** A file standing in for the guest's console log. */
  consolePath: string | undefined = undefined;
  /** A unix socket standing in for QEMU's debug console chardev. */
  debugConsoleSocket: string | undefined = undefined;
  private readonly exitD = new Deferred<VmExit>();
  readonly exited = this.exitD.promise;
  vcpus: number;
  memoryMiB: number;
  stopped = false;
  /** Resizes that ran while another was still running: must stay 0. */
  overlaps = 0;
  private resizing = 0;
  /** Every CPU slot hotplugged, in order: a slot must never be used twice without an unplug. */
  readonly slots: number[] = [];

  constructor(
    boot: { vcpus: number; memoryMiB: number },
    /** A process standing in for QEMU (e.g. a `sleep`), so its /proc state can be frozen. */
    readonly pid: number | undefined = undefined,
    private readonly maxVcpus = 8,
  ) {
    this.vcpus = boot.vcpus;
    this.memoryMiB = boot.memoryMiB;
  }

  async start(): Promise<void> {}

  pids(): readonly number[] {
    return this.pid === undefined || this.stopped ? [] : [this.pid];
  }

  frozen(): boolean {
    return this.pid !== undefined && isStoppedState(processState(this.pid));
  }

  /** A hung guest idles: tests that need a busy one set this. */
  cpuMs = 0;
  cpuTimeMs(): number | undefined {
    return this.cpuMs;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.exitD.resolve({ code: 0, signal: null, stderr: '', reason: 'stopped by the runtime' } as VmExit);
  }

  /** The VM dies on its own. */
  die(reason: string): void {
    this.exitD.resolve({ code: null, signal: 'SIGKILL', stderr: '', reason } as VmExit);
  }

  resources(): VmResources {
    return { vcpus: this.vcpus, memoryMiB: this.memoryMiB };
  }

  async resizeVcpus(target: number): Promise<ResizeResult> {
    return this.resize(async () => {
      const want = Math.min(target, this.maxVcpus);
      while (this.vcpus < want) this.slots.push(this.vcpus++);
      while (this.vcpus > want) this.slots.splice(this.slots.indexOf(--this.vcpus), 1);
      return want < target ? { current: this.vcpus, limitedBy: `maxcpus ${this.maxVcpus}` } : { current: this.vcpus };
    });
  }

  async resizeMemory(targetMiB: number): Promise<ResizeResult> {
    return this.resize(async () => {
      this.memoryMiB = Math.max(this.memoryMiB, targetMiB);
      return { current: this.memoryMiB };
    });
  }

  private async resize<T>(fn: () => Promise<T>): Promise<T> {
    if (this.resizing > 0) this.overlaps++;
    this.resizing++;
    try {
      await new Promise((r) => setTimeout(r, 5)); // a hotplug takes a while: a second caller would overlap
      return await fn();
    } finally {
      this.resizing--;
    }
  }
}

/** The boot seam: records every VM it boots. */
export class FakeVmFactory {
  readonly vms: { hypervisor: FakeHypervisor; agent: FakeAgent; options: VmBootOptions }[] = [];
  /** Makes the next boot wait until released (to hold a boot in progress). */
  gate: Promise<void> | undefined;
  pid: number | undefined;
  /** Given to each VM booted from now on (see FakeHypervisor). */
  consolePath: string | undefined;
  debugConsoleSocket: string | undefined;

  readonly boot = async (o: VmBootOptions): Promise<SandboxVm> => {
    if (this.gate) await this.gate;
    const hypervisor = new FakeHypervisor({ vcpus: o.vcpus, memoryMiB: o.memoryMiB }, this.pid);
    hypervisor.consolePath = this.consolePath;
    hypervisor.debugConsoleSocket = this.debugConsoleSocket;
    o.onStarted?.(hypervisor);
    const agent = new FakeAgent();
    this.vms.push({ hypervisor, agent, options: o });
    return { hypervisor, agent, bootMs: 1, timing: { hypervisorMs: 0, agentMs: 1 } };
  };

  get last(): { hypervisor: FakeHypervisor; agent: FakeAgent } {
    const vm = this.vms.at(-1);
    if (!vm) throw new Error('no VM booted');
    return vm;
  }
}

/** A HostStdio that keeps what the process printed and counts what the sandbox asked of it. */
export class MemoryStdio implements HostStdio {
  stdout = '';
  stderr = '';
  closeStdinCalls = 0;
  closed = false;
  private streams: ProcessStreams | undefined;
  private done: Promise<void> = Promise.resolve();
  get attached(): boolean {
    return this.streams !== undefined;
  }
  attach(streams: ProcessStreams): void {
    this.streams = streams;
    const drain = async (which: 'stdout' | 'stderr'): Promise<void> => {
      for (;;) {
        const d = await streams.read(which, 32 * 1024).catch(() => new Uint8Array());
        if (d.length === 0) return;
        this[which] += Buffer.from(d).toString();
      }
    };
    this.done = Promise.all([drain('stdout'), drain('stderr')]).then(() => undefined);
  }
  get outputDone(): Promise<void> {
    return this.done;
  }
  async closeStdin(): Promise<void> {
    this.closeStdinCalls++;
    await this.streams?.closeStdin();
  }
  async write(data: string): Promise<void> {
    await this.streams?.write(Buffer.from(data));
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A configuration for a fake VM: the paths are never opened. */
export const FAKE_QEMU_TOML = `
[hypervisor.qemu]
path = "/usr/bin/qemu-system-x86_64"
kernel = "/nonexistent/vmlinux"
initrd = "/nonexistent/initrd"
default_memory = 512
default_maxvcpus = 4
`;

/** A container spec the shim accepts (its own namespaces, none of the host's). */
export const SLEEP_SPEC = {
  ociVersion: '1.0.2',
  process: { args: ['sleep', '1000'], cwd: '/', user: { uid: 0, gid: 0 } },
  root: { path: 'rootfs' },
  linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }] },
};
