// The QEMU implementation of Hypervisor: supervises QEMU (and virtiofsd), drives it
// over QMP, hotplugs vCPUs and memory DIMMs.
import { closeSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log/logger.js';
import { Code, RuntimeError } from '../../errors/index.js';
import type { Hypervisor, HypervisorCapabilities, ResizeResult, VmExit, VmResources } from '../hypervisor.js';
import { isStoppedState, processCpuMs, processState } from '../proc-stat.js';
import { SupervisedProcess, describeExit } from '../supervised-process.js';
import { Mutex } from '../../async/mutex.js';
import { inheritedFds, qemuCommand, singleTcgThread, type QemuLaunchSpec } from './command-line.js';
import { QmpClient } from './qmp-client.js';
import { stopQemu } from './stop-qemu.js';
import { startVirtiofsd, type VirtiofsdOptions } from './virtiofsd.js';
import { VcpuHotplug } from './vcpu-hotplug.js';
import { MemoryHotplug } from './memory-hotplug.js';

export interface QemuOptions {
  readonly spec: QemuLaunchSpec;
  /** Holds the sockets, pid file and console log; removed by stop(). */
  readonly runDir: string;
  readonly virtiofsd?: Omit<VirtiofsdOptions, 'socketPath'>;
  readonly log: Logger;
  /** Bound for QEMU to become controllable over QMP. */
  readonly startTimeoutMs?: number;
  /** Deadline of every QMP command that sets none (the QMP client's default otherwise). */
  readonly qmpCommandTimeoutMs?: number;
}

/** Where a VM's files live inside its run directory. */
export function qemuRunPaths(runDir: string): {
  qmp: string;
  extraMonitor: string;
  agent: string;
  debugConsole: string;
  virtiofsd: string;
  console: string;
  pid: string;
} {
  return {
    qmp: join(runDir, 'qmp.sock'),
    // Kata's name, so tools written for Kata find it.
    extraMonitor: join(runDir, 'extra-monitor.sock'),
    agent: join(runDir, 'kata.sock'),
    debugConsole: join(runDir, 'debug-console.sock'),
    virtiofsd: join(runDir, 'vhost-fs.sock'),
    console: join(runDir, 'console.log'),
    pid: join(runDir, 'pid'),
  };
}

/** Who ended the VM when QEMU did not end by itself. */
type ExitCause = { readonly kind: 'runtime' } | { readonly kind: 'virtiofsd'; readonly exit: VmExit };

/**
 * A dying QEMU closes virtiofsd's socket before the kernel reaps QEMU itself, so
 * virtiofsd's exit can be seen first: wait this long for QEMU's before blaming virtiofsd.
 */
const HELPER_EXIT_SETTLE_MS = 100;

/** virtiofsd exits by itself when QEMU disconnects: this long to do so before it is signalled. */
const VIRTIOFSD_SELF_EXIT_MS = 500;
/** Then SIGTERM, and SIGKILL after this. */
const VIRTIOFSD_STOP_GRACE_MS = 1000;

export class QemuHypervisor implements Hypervisor {
  readonly capabilities: HypervisorCapabilities;
  private qemu: SupervisedProcess | undefined;
  private virtiofsd: SupervisedProcess | undefined;
  private qmp: QmpClient | undefined;
  private vcpus: VcpuHotplug | undefined;
  private memory: MemoryHotplug | undefined;
  private stopping: Promise<void> | undefined;
  private cause: ExitCause | undefined;
  /** Our copies of descriptors QEMU inherits (the vhost-vsock fd): ours to close once. */
  private ownedFds: number[];
  private resolveExited!: (e: VmExit) => void;
  readonly exited: Promise<VmExit>;

  constructor(private readonly opts: QemuOptions) {
    this.capabilities = {
      cpuHotplug: true,
      cpuHotUnplug: !singleTcgThread(opts.spec),
      memoryHotplug: true,
      // QEMU 7.2 crashes when a DIMM is unplugged after a CPU was: never unplug memory.
      memoryHotUnplug: false,
      sharedFs: opts.spec.sharedFs ? 'virtio-fs' : 'none',
      agentChannel: opts.spec.agent.kind === 'serial' ? 'serial' : 'vsock',
    };
    this.ownedFds = inheritedFds(opts.spec);
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  get pid(): number | undefined {
    return this.qemu?.pid;
  }

  pids(): readonly number[] {
    return [this.qemu, this.virtiofsd].filter((p) => p?.running && p.pid !== undefined).map((p) => p!.pid!);
  }

  get consolePath(): string {
    return this.opts.spec.consoleLog;
  }

  frozen(): boolean {
    return this.qemu?.pid !== undefined && isStoppedState(processState(this.qemu.pid));
  }

  cpuTimeMs(): number | undefined {
    return this.qemu?.pid === undefined ? undefined : processCpuMs(this.qemu.pid);
  }

  get debugConsoleSocket(): string | undefined {
    return this.opts.spec.debugConsole?.socketPath;
  }

  get agentUrl(): string {
    const a = this.opts.spec.agent;
    return a.kind === 'serial' ? `serial://${a.socketPath}` : `vsock://${a.cid}:1024`;
  }

  resources(): VmResources {
    return {
      vcpus: this.vcpus?.current ?? this.opts.spec.vcpus,
      memoryMiB: this.memory?.currentMiB ?? this.opts.spec.memoryMiB,
    };
  }

  async start(signal?: AbortSignal): Promise<void> {
    const { spec, runDir, log } = this.opts;
    try {
      for (const [what, path] of [['hypervisor path', spec.qemuPath], ['kernel', spec.kernel], ['initrd', spec.initrd], ['image', spec.rootImage?.path]] as const) {
        if (path && !existsSync(path)) throw new RuntimeError(Code.FAILED_PRECONDITION, `qemu: ${what} ${path} does not exist`);
      }
      mkdirSync(runDir, { recursive: true, mode: 0o750 });
      if (this.opts.virtiofsd && spec.sharedFs) {
        this.virtiofsd = await startVirtiofsd({ ...this.opts.virtiofsd, socketPath: spec.sharedFs.socketPath });
        log.debug({ pid: this.virtiofsd.pid }, 'virtiofsd started');
      }
      // stop() during the await above found no QEMU to stop: it must not start after it.
      if (this.stopping) throw new RuntimeError(Code.CANCELLED, 'qemu: the VM was stopped while it was starting');
      const cmd = qemuCommand(spec);
      const qemu = new SupervisedProcess('qemu', cmd.file, cmd.args, { extraFds: cmd.inheritFds });
      // QEMU has its own copies now (made at fork); ours would only keep the CID claimed.
      this.releaseOwnedFds();
      this.qemu = qemu;
      void qemu.exited.then((e) => this.onQemuExit(e));
      if (this.virtiofsd) this.watchVirtiofsd(this.virtiofsd, qemu);
      this.qmp = await this.connectQmp(qemu, signal);
      // A helper that died while QEMU came up has already started the stop.
      if (this.stopping) throw new RuntimeError(Code.UNAVAILABLE, `qemu: ${describeExit(await this.exited)}`);
      const lock = new Mutex(); // one resize of this VM at a time, CPUs and memory alike
      this.vcpus = new VcpuHotplug(this.qmp, spec.vcpus, spec.maxVcpus, log, lock);
      this.memory = new MemoryHotplug(
        this.qmp,
        { bootMiB: spec.memoryMiB, maxMiB: spec.maxMemoryMiB, slots: spec.memorySlots, shared: spec.sharedFs !== undefined },
        lock,
      );
      log.info({ pid: qemu.pid, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, agent: spec.agent.kind }, 'qemu started');
    } catch (err) {
      await this.stop();
      await this.virtiofsd?.stop(VIRTIOFSD_STOP_GRACE_MS); // in case stop() ran before it existed
      throw err;
    }
  }

  stop(): Promise<void> {
    this.cause ??= { kind: 'runtime' };
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  async resizeVcpus(target: number): Promise<ResizeResult> {
    return this.controlled().vcpus.resize(target);
  }

  async resizeMemory(targetMiB: number): Promise<ResizeResult> {
    return this.controlled().memory.resize(targetMiB);
  }

  private controlled(): { vcpus: VcpuHotplug; memory: MemoryHotplug } {
    if (!this.vcpus || !this.memory || !this.qemu?.running || this.stopping) {
      throw new RuntimeError(Code.FAILED_PRECONDITION, 'qemu: the VM is not running');
    }
    return { vcpus: this.vcpus, memory: this.memory };
  }

  private async connectQmp(qemu: SupervisedProcess, signal?: AbortSignal): Promise<QmpClient> {
    const sock = this.opts.spec.qmpSocket;
    const timeoutMs = this.opts.startTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!qemu.running) throw new RuntimeError(Code.INTERNAL, describeExit(await this.exited));
      signal?.throwIfAborted();
      if (existsSync(sock)) {
        try {
          return await QmpClient.connect(sock, {
            timeoutMs: Math.max(1000, deadline - Date.now()),
            ...(this.opts.qmpCommandTimeoutMs ? { commandTimeoutMs: this.opts.qmpCommandTimeoutMs } : {}),
          });
        } catch (err) {
          if (!qemu.running) continue; // report QEMU's own reason above
          if (Date.now() > deadline) throw err;
        }
      }
      if (Date.now() > deadline) {
        throw new RuntimeError(Code.DEADLINE_EXCEEDED, `qemu: QMP socket ${sock} not ready within ${timeoutMs} ms`);
      }
      await sleep(10);
    }
  }

  /** QEMU cannot serve the guest without its shared filesystem: a dead virtiofsd ends the VM. */
  private watchVirtiofsd(virtiofsd: SupervisedProcess, qemu: SupervisedProcess): void {
    void virtiofsd.exited.then(async (e) => {
      if (this.stopping || (await qemu.exitedWithin(HELPER_EXIT_SETTLE_MS)) || this.stopping) return;
      this.cause ??= { kind: 'virtiofsd', exit: e };
      this.opts.log.error({ reason: e.reason, stderr: e.stderr, qemuPid: qemu.pid }, 'virtiofsd died: stopping the VM');
      void this.stop();
    });
  }

  private async doStop(): Promise<void> {
    const { log, runDir } = this.opts;
    const qemu = this.qemu;
    let how = 'was never started';
    if (qemu) how = await stopQemu(qemu, this.qmp);
    this.qmp?.close();
    if (this.virtiofsd) {
      // On its own it ends its forked server first; signalled, the server can outlive it a moment.
      await this.virtiofsd.exitedWithin(VIRTIOFSD_SELF_EXIT_MS);
      await this.virtiofsd.stop(VIRTIOFSD_STOP_GRACE_MS);
    }
    this.releaseOwnedFds();
    rmSync(runDir, { recursive: true, force: true });
    if (!qemu) this.resolveExited(this.vmExit({ code: null, signal: null, stderr: '', reason: 'qemu never started' }));
    log.info({ pid: qemu?.pid, how }, 'qemu stopped');
  }

  private onQemuExit(e: VmExit): void {
    const exit = this.vmExit(e);
    if (!this.cause) this.opts.log.warn({ code: e.code, signal: e.signal, stderr: e.stderr, reason: exit.reason }, 'qemu exited');
    this.qmp?.close();
    this.resolveExited(exit);
  }

  /** QEMU's exit status, with the reason the VM ended when something other than QEMU ended it. */
  private vmExit(e: VmExit): VmExit {
    const c = this.cause;
    if (!c) return e;
    if (c.kind === 'runtime') return { ...e, reason: `stopped by the runtime (${e.reason})` };
    return {
      ...e,
      stderr: c.exit.stderr || e.stderr,
      reason: `${c.exit.reason}: the VM was stopped because its shared filesystem is gone`,
    };
  }

  private releaseOwnedFds(): void {
    for (const fd of this.ownedFds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // Already closed by its owner before us: nothing is held any more.
      }
    }
  }
}
