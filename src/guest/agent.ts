// The guest agent's domain: the sandbox (hostname, shared namespaces, storages, network)
// and its containers. The RPC layer (agent-service.ts) converts agent API messages into
// calls on this once; nothing here sees protobuf except the Storage passed through.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { grpc } from '../gen/proto.js';
import type { Logger } from '../log/logger.js';
import type * as oci from '../oci/runtime-spec.js';
import { alreadyExists, failedPrecondition, notFound } from '../errors/index.js';
import { removeCgroupParent } from './cgroup-parent.js';
import { checkRootfs, guestSpec } from './container-bundle.js';
import { Container } from './container.js';
import { memoryBlockSize, onlineCpuMem, supportsMemoryProbe, type OnlineCpuMemRequest, type SysfsIo } from './cpu-mem.js';
import type { ContainerId } from './ids.js';
import { GuestNetwork, type AppletRunner } from './network.js';
import { OomQueue } from './oom-queue.js';
import { podSpec, type PodNetwork } from './pod-namespaces.js';
import { Runc } from './runc.js';
import { createSharedNamespaces, removeSharedNamespaces, type SharedNamespaces } from './sandbox-ns.js';
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
  /** The pod's shared IPC/UTS namespace files go to `<sandboxDir>/ns` (Kata: /run/kata-containers/sandbox). */
  sandboxDir: string;
  /** busybox, for unshare (and `ip`/`arp` through the default runner). */
  busybox?: string;
  /** Runs `ip`/`arp` for the network RPCs; undefined refuses them (test mode without a netns). */
  netRunner?: AppletRunner;
  /** Test mode: the network namespace standing in for the VM's; containers join it. */
  netns?: string;
  log: Logger;
}

interface SandboxState {
  id: string;
  /** Mount points this agent mounted, unmounted in reverse order on DestroySandbox. */
  mounts: string[];
  /** The pod's IPC and UTS namespaces, which every container joins. */
  namespaces?: SharedNamespaces;
  /** CreateSandbox.sandbox_pidns: every container after the first joins the first's PID namespace. */
  sandboxPidns: boolean;
  /** The first container created (Kata: the infra/pause container): its init's PID namespace is the pod's. */
  pidnsOwner?: ContainerId;
}

/** Kata's NIC: a virtio-net PCI device, whose driver is a module of the guest kernel. */
const NIC_DRIVER = 'virtio_net';

export class GuestAgent {
  #oom: OomQueue;
  readonly runc: Runc;
  readonly #containers = new Map<ContainerId, Container>();
  /** Ids between the start of CreateContainer and its end, so a duplicate is refused at once. */
  readonly #reserved = new Set<ContainerId>();
  #sandbox: SandboxState | undefined;
  readonly #network: GuestNetwork | undefined;

  constructor(readonly config: AgentConfig) {
    this.#oom = this.#newOomQueue();
    this.runc = new Runc({ binary: config.runcBinary, root: join(config.stateDir, 'runc') });
    if (config.netRunner) {
      this.#network = new GuestNetwork({
        run: config.netRunner,
        log: config.log.child({ component: 'network' }),
        // Loaded on the first UpdateInterface, which comes before CreateSandbox: VMs
        // without a NIC never pay for it, and the initramfs stays as small as it was.
        loadDriver: config.ownsMachine ? () => runTool('modprobe', [NIC_DRIVER]).then(() => undefined) : undefined,
      });
    }
  }

  /** The network RPCs' executor; FAILED_PRECONDITION where the agent must not touch the network. */
  get network(): GuestNetwork {
    if (!this.#network) {
      throw failedPrecondition('network RPCs change the machine\'s network: in test mode on a host, start the agent with --netns PATH');
    }
    return this.#network;
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
    const sandbox: SandboxState = { id: req.sandboxId ?? '', mounts: [], sandboxPidns: !!req.sandboxPidns };
    this.#sandbox = sandbox;
    if (this.#oom.closed) this.#oom = this.#newOomQueue();
    try {
      await mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
      if (this.config.ownsMachine) {
        if (req.hostname) await runTool('hostname', [req.hostname]);
        for (const m of req.kernelModules ?? []) if (m.name) await runTool('modprobe', [m.name, ...(m.parameters ?? [])]);
      }
      await this.#network?.loopbackUp();
      sandbox.namespaces = await createSharedNamespaces(this.#nsDir, req.hostname ?? '', this.config.busybox);
      for (const plan of plans) {
        if (await mountStorage(plan)) sandbox.mounts.push(plan.mountPoint);
        this.log.info({ source: plan.source, mountPoint: plan.mountPoint, fstype: plan.fstype }, 'storage mounted');
      }
    } catch (err) {
      await this.#release(sandbox);
      this.#sandbox = undefined;
      throw err;
    }
    this.log.info({ sandbox: sandbox.id, hostname: req.hostname }, 'sandbox created');
  }

  /**
   * Removes every container, unmounts the sandbox's storages and drops its namespaces;
   * OOM pollers get UNAVAILABLE with `reason`. Also what stopping the agent does.
   */
  async destroySandbox(reason = 'sandbox destroyed'): Promise<void> {
    await this.removeAll();
    if (this.#sandbox) await this.#release(this.#sandbox);
    this.#sandbox = undefined;
    this.#oom.close(reason);
    this.log.info(reason);
  }

  /** `sandboxPidns` (CreateContainer.sandbox_pidns): join the PID namespace of the sandbox's first container. */
  async createContainer(id: ContainerId, spec: oci.Spec, opts: { sandboxPidns?: boolean } = {}): Promise<Container> {
    if (this.#containers.has(id) || this.#reserved.has(id)) throw alreadyExists(`container ${id} already exists`);
    checkContainerSpec(id, spec);
    this.#reserved.add(id);
    try {
      const sandbox = this.#sandbox;
      const pod = podSpec(spec, {
        ipc: sandbox?.namespaces?.ipc,
        uts: sandbox?.namespaces?.uts,
        pid: this.#sandboxPidns(id, !!opts.sandboxPidns),
        network: this.#podNetwork,
      });
      const placed = guestSpec(id, pod, this.config);
      await checkRootfs(id, placed.root?.path ?? '');
      const container = await Container.create(id, join(this.config.stateDir, 'containers', id), placed, {
        runc: this.runc,
        log: this.log.child({ container: id }),
        telnetd: this.config.telnetd,
        cgroupParent: this.config.cgroupParent,
        onOom: (cid, after) => {
          this.log.warn({ container: cid, after }, 'container hit its memory limit (OOM)');
          this.#oom.push(cid);
        },
      });
      this.#containers.set(id, container);
      if (sandbox && sandbox === this.#sandbox) sandbox.pidnsOwner ??= id;
      this.log.info({ container: id, namespaces: pod.linux?.namespaces }, 'container created');
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

  #newOomQueue(): OomQueue {
    return new OomQueue({
      onDrop: (id) => this.log.warn({ container: id }, 'OOM event dropped: too many waiting (is the host polling GetOOMEvent?)'),
    });
  }

  get #nsDir(): string {
    return join(this.config.sandboxDir, 'ns');
  }

  get #podNetwork(): PodNetwork {
    if (this.config.ownsMachine) return { kind: 'agent' };
    return this.config.netns ? { kind: 'join', path: this.config.netns } : { kind: 'new' };
  }

  /** The PID namespace a new container joins, or undefined for a new one (Kata's rules). */
  #sandboxPidns(id: ContainerId, requested: boolean): string | undefined {
    const s = this.#sandbox;
    if (!requested && !(s?.sandboxPidns && s.pidnsOwner)) return undefined;
    const what = `container ${id}: sandbox_pidns asks for the PID namespace of the sandbox's first container`;
    if (!s) throw failedPrecondition(`${what}, but there is no sandbox (CreateSandbox first)`);
    if (!s.pidnsOwner) throw failedPrecondition(`${what}, and no container has been created yet`);
    const owner = this.#containers.get(s.pidnsOwner);
    const pid = owner?.init.running ? owner.init.pid : undefined;
    if (!pid) throw failedPrecondition(`${what} (${s.pidnsOwner}), whose init process is not running (${owner ? owner.state : 'removed'})`);
    return `/proc/${pid}/ns/pid`;
  }

  /** Unmounts the storages in reverse order and drops the shared namespaces; failures are logged. */
  async #release(sandbox: SandboxState): Promise<void> {
    for (const mountPoint of sandbox.mounts.splice(0).reverse()) {
      await unmount(mountPoint).catch((err: unknown) => this.log.warn({ err, mountPoint }, 'cannot unmount storage'));
    }
    sandbox.namespaces = undefined;
    await removeSharedNamespaces(this.#nsDir).catch((err: unknown) => this.log.warn({ err, dir: this.#nsDir }, 'cannot remove the shared namespaces'));
  }
}
