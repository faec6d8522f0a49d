// The QEMU implementation of Hypervisor: supervises QEMU (and virtiofsd), drives it
// over QMP, hotplugs vCPUs and memory DIMMs.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log/logger.js';
import { Code, RuntimeError } from '../../errors/index.js';
import type { Hypervisor, HypervisorCapabilities, ResizeResult, VmExit, VmResources } from '../hypervisor.js';
import { SupervisedProcess, describeExit } from '../supervised-process.js';
import { qemuCommand, type QemuLaunchSpec } from './command-line.js';
import { QmpClient } from './qmp-client.js';
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
}

/** Where a VM's files live inside its run directory. */
export function qemuRunPaths(runDir: string): { qmp: string; agent: string; virtiofsd: string; console: string; pid: string } {
  return {
    qmp: join(runDir, 'qmp.sock'),
    agent: join(runDir, 'kata.sock'),
    virtiofsd: join(runDir, 'vhost-fs.sock'),
    console: join(runDir, 'console.log'),
    pid: join(runDir, 'pid'),
  };
}

export class QemuHypervisor implements Hypervisor {
  readonly capabilities: HypervisorCapabilities;
  private qemu: SupervisedProcess | undefined;
  private virtiofsd: SupervisedProcess | undefined;
  private qmp: QmpClient | undefined;
  private vcpus: VcpuHotplug | undefined;
  private memory: MemoryHotplug | undefined;
  private stopping: Promise<void> | undefined;
  private resolveExited!: (e: VmExit) => void;
  readonly exited: Promise<VmExit>;

  constructor(private readonly opts: QemuOptions) {
    this.capabilities = {
      cpuHotplug: true,
      cpuHotUnplug: true,
      memoryHotplug: true,
      // QEMU 7.2 crashes when a DIMM is unplugged after a CPU was: never unplug memory.
      memoryHotUnplug: false,
      sharedFs: opts.spec.sharedFs ? 'virtio-fs' : 'none',
      agentChannel: opts.spec.agent.kind === 'serial' ? 'serial' : 'vsock',
    };
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  get pid(): number | undefined {
    return this.qemu?.pid;
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
    for (const [what, path] of [['hypervisor path', spec.qemuPath], ['kernel', spec.kernel], ['initrd', spec.initrd], ['image', spec.image]] as const) {
      if (path && !existsSync(path)) throw new RuntimeError(Code.FAILED_PRECONDITION, `qemu: ${what} ${path} does not exist`);
    }
    mkdirSync(runDir, { recursive: true, mode: 0o750 });
    try {
      if (this.opts.virtiofsd && spec.sharedFs) {
        this.virtiofsd = await startVirtiofsd({ ...this.opts.virtiofsd, socketPath: spec.sharedFs.socketPath });
        log.debug({ pid: this.virtiofsd.pid }, 'virtiofsd started');
      }
      const cmd = qemuCommand(spec);
      const qemu = new SupervisedProcess('qemu', cmd.file, cmd.args);
      this.qemu = qemu;
      void qemu.exited.then((e) => this.onQemuExit(e));
      this.qmp = await this.connectQmp(qemu, signal);
      this.vcpus = new VcpuHotplug(this.qmp, spec.vcpus, spec.maxVcpus, log);
      this.memory = new MemoryHotplug(this.qmp, {
        bootMiB: spec.memoryMiB,
        maxMiB: spec.maxMemoryMiB,
        slots: spec.memorySlots,
        shared: spec.sharedFs !== undefined,
      });
      log.info({ pid: qemu.pid, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB }, 'qemu started');
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  resizeVcpus(target: number): Promise<ResizeResult> {
    return this.controlled().vcpus.resize(target);
  }

  resizeMemory(targetMiB: number): Promise<ResizeResult> {
    return this.controlled().memory.resize(targetMiB);
  }

  private controlled(): { vcpus: VcpuHotplug; memory: MemoryHotplug } {
    if (!this.vcpus || !this.memory || !this.qemu?.running) {
      throw new RuntimeError(Code.FAILED_PRECONDITION, 'qemu: the VM is not running');
    }
    return { vcpus: this.vcpus, memory: this.memory };
  }

  private async connectQmp(qemu: SupervisedProcess, signal?: AbortSignal): Promise<QmpClient> {
    const sock = this.opts.spec.qmpSocket;
    const timeoutMs = this.opts.startTimeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!qemu.running) throw new RuntimeError(Code.INTERNAL, describeExit('qemu', await qemu.exited));
      signal?.throwIfAborted();
      if (existsSync(sock)) {
        try {
          return await QmpClient.connect(sock, { timeoutMs: Math.max(1000, deadline - Date.now()) });
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

  private async doStop(): Promise<void> {
    const { log, runDir } = this.opts;
    const qemu = this.qemu;
    if (qemu?.running) {
      // Graceful first: `quit` lets QEMU close its files and disconnect virtiofsd.
      await this.qmp?.execute('quit', undefined, { timeoutMs: 2000 }).catch(() => undefined);
      const done = await Promise.race([qemu.exited, sleep(3000).then(() => undefined)]);
      if (!done) await qemu.kill();
    }
    this.qmp?.close();
    if (this.virtiofsd) await this.virtiofsd.stop(2000);
    rmSync(runDir, { recursive: true, force: true });
    if (!qemu) this.resolveExited({ code: null, signal: null, stderr: '' });
    else await qemu.exited;
    log.info({ pid: qemu?.pid }, 'qemu stopped');
  }

  private onQemuExit(e: VmExit): void {
    if (!this.stopping) this.opts.log.warn({ code: e.code, signal: e.signal, stderr: e.stderr }, 'qemu exited');
    this.qmp?.close();
    this.resolveExited(e);
  }
}
