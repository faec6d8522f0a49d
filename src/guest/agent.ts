// The guest agent's domain: the sandbox (hostname, shared-filesystem mounts) and its
// containers. The RPC layer (agent-service.ts) converts agent API messages into calls
// on this once; nothing here sees protobuf except the Storage passed through.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { grpc } from '../gen/proto.js';
import type { Logger } from '../log/logger.js';
import type * as oci from '../oci/runtime-spec.js';
import { alreadyExists, notFound } from '../ttrpc/status.js';
import { removeCgroupParent } from './cgroup-parent.js';
import { checkRootfs, guestSpec } from './container-bundle.js';
import { Container } from './container.js';
import { memoryBlockSize, onlineCpuMem, supportsMemoryProbe, type OnlineCpuMemRequest, type SysfsIo } from './cpu-mem.js';
import type { ContainerId } from './ids.js';
import { OomQueue } from './oom-queue.js';
import { Runc } from './runc.js';
import { checkContainerSpec } from './spec-check.js';
import { mountStorage, planStorage, unmount } from './storage.js';
import { runTool } from './tool.js';

export interface AgentConfig {
  /** Bundles and runc state (runc --root is <stateDir>/runc). */
  stateDir: string;
  /** Where relative rootfs paths are resolved: <sharedDir>/<container id>/<root.path>. */
  sharedDir: string;
  /** Usually /sys; tests use a fake tree. */
  sysfsRoot: string;
  sysfsIo?: SysfsIo;
  /** Parent of every container's cgroup. */
  cgroupParent: string;
  runcBinary: string;
  /** busybox telnetd (plus leading args) that gives terminal processes their pty. */
  telnetd: string[];
  /**
   * True when the agent owns the machine (the VM): CreateSandbox then sets the
   * hostname and loads kernel modules. False in test mode on a host.
   */
  ownsMachine: boolean;
  log: Logger;
}

interface SandboxState {
  id: string;
  /** Mount points this agent mounted, unmounted in reverse order on DestroySandbox. */
  mounts: string[];
}

export class GuestAgent {
  #oom = new OomQueue();
  readonly runc: Runc;
  readonly #containers = new Map<ContainerId, Container>();
  /** Ids between the start of CreateContainer and its end, so a duplicate is refused at once. */
  readonly #reserved = new Set<ContainerId>();
  #sandbox: SandboxState | undefined;

  constructor(readonly config: AgentConfig) {
    this.runc = new Runc({ binary: config.runcBinary, root: join(config.stateDir, 'runc') });
  }

  get log(): Logger {
    return this.config.log;
  }

  /** Where GetOOMEvent waits; closed by DestroySandbox, renewed by the next CreateSandbox. */
  get oom(): OomQueue {
    return this.#oom;
  }

  async createSandbox(req: grpc.CreateSandboxRequest.$Properties): Promise<void> {
    if (this.#sandbox) throw alreadyExists(`sandbox ${this.#sandbox.id} already exists`);
    const plans = (req.storages ?? []).map(planStorage);
    const sandbox: SandboxState = { id: req.sandboxId ?? '', mounts: [] };
    this.#sandbox = sandbox;
    if (this.#oom.closed) this.#oom = new OomQueue();
    try {
      await mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
      if (this.config.ownsMachine) {
        if (req.hostname) await runTool('hostname', [req.hostname]);
        for (const m of req.kernelModules ?? []) if (m.name) await runTool('modprobe', [m.name, ...(m.parameters ?? [])]);
      }
      for (const plan of plans) {
        if (await mountStorage(plan)) sandbox.mounts.push(plan.mountPoint);
        this.log.info({ source: plan.source, mountPoint: plan.mountPoint, fstype: plan.fstype }, 'storage mounted');
      }
    } catch (err) {
      await this.#unmountAll(sandbox);
      this.#sandbox = undefined;
      throw err;
    }
    this.log.info({ sandbox: sandbox.id, hostname: req.hostname }, 'sandbox created');
  }

  /** Removes every container and unmounts the sandbox's storages; OOM pollers get UNAVAILABLE. */
  async destroySandbox(): Promise<void> {
    await this.removeAll();
    if (this.#sandbox) await this.#unmountAll(this.#sandbox);
    this.#sandbox = undefined;
    this.#oom.close();
    this.log.info('sandbox destroyed');
  }

  async createContainer(id: ContainerId, spec: oci.Spec): Promise<Container> {
    if (this.#containers.has(id) || this.#reserved.has(id)) throw alreadyExists(`container ${id} already exists`);
    checkContainerSpec(id, spec);
    this.#reserved.add(id);
    try {
      const placed = guestSpec(id, spec, this.config);
      await checkRootfs(id, placed.root?.path ?? '');
      const container = await Container.create(id, join(this.config.stateDir, 'containers', id), placed, {
        runc: this.runc,
        log: this.log.child({ container: id }),
        telnetd: this.config.telnetd,
        onOom: (cid) => {
          this.log.warn({ container: cid }, 'container hit its memory limit (OOM)');
          this.#oom.push(cid);
        },
      });
      this.#containers.set(id, container);
      this.log.info({ container: id }, 'container created');
      return container;
    } finally {
      this.#reserved.delete(id);
    }
  }

  container(id: string): Container {
    const c = this.#containers.get(id as ContainerId);
    if (!c) throw notFound(`container ${id} not found`);
    return c;
  }

  get containerIds(): ContainerId[] {
    return [...this.#containers.keys()];
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.container(id);
    await c.remove();
    this.#containers.delete(c.id);
    this.log.info({ container: id }, 'container removed');
  }

  /** Every container, e.g. on DestroySandbox or agent shutdown; then the cgroup parent. */
  async removeAll(): Promise<void> {
    const results = await Promise.allSettled([...this.#containers.keys()].map((id) => this.removeContainer(id)));
    for (const r of results) if (r.status === 'rejected') this.log.error({ err: r.reason }, 'cannot remove container');
    await removeCgroupParent(this.config.cgroupParent);
  }

  async onlineCpuMem(req: OnlineCpuMemRequest): Promise<void> {
    const done = await onlineCpuMem(req, { sysfsRoot: this.config.sysfsRoot, io: this.config.sysfsIo });
    this.log.info({ request: req, ...done }, 'CPUs and memory onlined');
  }

  async guestDetails(): Promise<{ memBlockSizeBytes: number; supportMemHotplugProbe: boolean }> {
    return {
      memBlockSizeBytes: await memoryBlockSize(this.config.sysfsRoot, this.config.sysfsIo),
      supportMemHotplugProbe: await supportsMemoryProbe(this.config.sysfsRoot, this.config.sysfsIo),
    };
  }

  async #unmountAll(sandbox: SandboxState): Promise<void> {
    for (const mountPoint of sandbox.mounts.splice(0).reverse()) {
      await unmount(mountPoint).catch((err: unknown) => this.log.warn({ err, mountPoint }, 'cannot unmount storage'));
    }
  }
}
