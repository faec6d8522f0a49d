// Kata's agent API over ttrpc, with the per-call timeouts the Kata runtime uses.
import type { Duplex } from 'node:stream';
import { grpc } from '../gen/proto.js';
import { grpc_AgentService, grpc_Health } from '../gen/services.js';
import type { Logger } from '../log/logger.js';
import { processToGrpc, resourcesToGrpc, specToGrpc } from '../oci/grpc-spec.js';
import type { LinuxResources, Process, Spec } from '../oci/runtime-spec.js';
import { TtrpcClient, serviceClient, type CallOptions, type ServiceClient } from '../ttrpc/index.js';
import { Code, RuntimeError } from '../errors/index.js';
import type { Agent, AgentRpcObserver, ContainerStats, GuestDetails, GuestInterface, GuestNeighbor, GuestRoute, GuestStorage } from './agent.js';
import { interfaceToGrpc, neighborToGrpc, routeToGrpc } from './network-messages.js';
import { timedClient } from './rpc-timing.js';
import { statsFromGrpc } from './stats.js';
import { dialAgent } from './transport/url.js';
import { dialWithRetry } from './transport/retry.js';

/** Kata's request timeouts (kata_agent.go getReqContext). */
const CHECK_TIMEOUT_MS = 30_000;
const CREATE_CONTAINER_TIMEOUT_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 60_000;
/** Kata's stream copies use 32 KiB buffers. */
export const READ_CHUNK = 32 * 1024;

export interface AgentConnectOptions {
  /** `[agent.kata] dial_timeout`: how long the agent gets to answer Health.Check. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly log: Logger;
  /** Told the duration of every RPC (for the shim's metrics). */
  readonly onRpc?: AgentRpcObserver;
}

const storageToGrpc = (s: GuestStorage): grpc.Storage.$Properties => ({
  driver: s.driver,
  source: s.source,
  fstype: s.fstype,
  options: [...s.options],
  mountPoint: s.mountPoint,
});

export class AgentClient implements Agent {
  private readonly agent: ServiceClient<typeof grpc_AgentService>;
  private readonly health: ServiceClient<typeof grpc_Health>;

  constructor(private readonly ttrpc: TtrpcClient, onRpc?: AgentRpcObserver) {
    this.agent = timedClient(serviceClient(ttrpc, grpc_AgentService), grpc_AgentService, onRpc);
    this.health = timedClient(serviceClient(ttrpc, grpc_Health), grpc_Health, onRpc);
  }

  get closed(): Promise<unknown> {
    return this.ttrpc.closed;
  }

  /**
   * Dials `url` until the agent answers Health.Check or the timeout passes. The check
   * is sent once per connection and may wait for the guest to boot: over virtio-serial
   * the connection exists before the agent does, and QEMU holds the bytes until the
   * guest opens its port.
   */
  static async connect(url: string, opts: AgentConnectOptions): Promise<AgentClient> {
    const deadline = Date.now() + opts.timeoutMs;
    let client: AgentClient | undefined;
    const stream: Duplex = await dialWithRetry(
      (signal) => dialAgent(url, { signal }),
      { timeoutMs: opts.timeoutMs, intervalMs: 20, signal: opts.signal, target: url },
      async (s) => {
        const candidate = new AgentClient(new TtrpcClient(s, { log: opts.log }), opts.onRpc);
        await candidate.check(Math.max(1, deadline - Date.now()), opts.signal);
        client = candidate;
        return true;
      },
    );
    if (!client) {
      stream.destroy();
      throw new RuntimeError(Code.UNAVAILABLE, `agent at ${url} did not answer`);
    }
    opts.log.debug({ url }, 'agent connected');
    return client;
  }

  async check(timeoutMs = CHECK_TIMEOUT_MS, signal?: AbortSignal): Promise<void> {
    const r = await this.health.Check({ service: '' }, { timeoutMs, signal });
    if (r.status !== grpc.HealthCheckResponse.ServingStatus.SERVING) {
      throw new RuntimeError(Code.UNAVAILABLE, `agent health: status ${r.status}, not SERVING`);
    }
  }

  async createSandbox(req: { sandboxId: string; hostname: string; storages: readonly GuestStorage[]; sandboxPidns?: boolean }): Promise<void> {
    await this.agent.CreateSandbox(
      { sandboxId: req.sandboxId, hostname: req.hostname, storages: req.storages.map(storageToGrpc), sandboxPidns: !!req.sandboxPidns },
      this.opts(),
    );
  }

  async destroySandbox(): Promise<void> {
    await this.agent.DestroySandbox({}, this.opts());
  }

  async createContainer(req: { containerId: string; spec: Spec; storages?: readonly GuestStorage[]; sandboxPidns?: boolean }): Promise<void> {
    await this.agent.CreateContainer(
      {
        containerId: req.containerId,
        execId: req.containerId,
        OCI: specToGrpc(req.spec),
        storages: (req.storages ?? []).map(storageToGrpc),
        sandboxPidns: !!req.sandboxPidns,
      },
      this.opts(CREATE_CONTAINER_TIMEOUT_MS),
    );
  }

  async startContainer(containerId: string): Promise<void> {
    await this.agent.StartContainer({ containerId }, this.opts());
  }

  async removeContainer(containerId: string, timeoutSec = 0): Promise<void> {
    await this.agent.RemoveContainer({ containerId, timeout: timeoutSec }, this.opts());
  }

  async execProcess(containerId: string, execId: string, process: Process): Promise<void> {
    await this.agent.ExecProcess({ containerId, execId, process: processToGrpc(process) }, this.opts());
  }

  async signalProcess(containerId: string, execId: string, signal: number): Promise<void> {
    await this.agent.SignalProcess({ containerId, execId, signal }, this.opts());
  }

  async waitProcess(containerId: string, execId: string): Promise<number> {
    return (await this.agent.WaitProcess({ containerId, execId })).status;
  }

  async writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number> {
    return (await this.agent.WriteStdin({ containerId, execId, data }, this.opts())).len;
  }

  async readStdout(containerId: string, execId: string, maxBytes = READ_CHUNK): Promise<Uint8Array> {
    return (await this.agent.ReadStdout({ containerId, execId, len: maxBytes })).data;
  }

  async readStderr(containerId: string, execId: string, maxBytes = READ_CHUNK): Promise<Uint8Array> {
    return (await this.agent.ReadStderr({ containerId, execId, len: maxBytes })).data;
  }

  async closeStdin(containerId: string, execId: string): Promise<void> {
    await this.agent.CloseStdin({ containerId, execId }, this.opts());
  }

  async ttyWinResize(containerId: string, execId: string, rows: number, columns: number): Promise<void> {
    await this.agent.TtyWinResize({ containerId, execId, row: rows, column: columns }, this.opts());
  }

  async updateContainer(containerId: string, resources: LinuxResources): Promise<void> {
    await this.agent.UpdateContainer({ containerId, resources: resourcesToGrpc(resources) }, this.opts());
  }

  async statsContainer(containerId: string): Promise<ContainerStats> {
    return statsFromGrpc(await this.agent.StatsContainer({ containerId }, this.opts()));
  }

  async pauseContainer(containerId: string): Promise<void> {
    await this.agent.PauseContainer({ containerId }, this.opts());
  }

  async resumeContainer(containerId: string): Promise<void> {
    await this.agent.ResumeContainer({ containerId }, this.opts());
  }

  async onlineCpuMem(req: { nbCpus: number; cpuOnly: boolean; wait?: boolean }): Promise<void> {
    await this.agent.OnlineCPUMem({ nbCpus: req.nbCpus, cpuOnly: req.cpuOnly, wait: !!req.wait }, this.opts());
  }

  async guestDetails(): Promise<GuestDetails> {
    const r = await this.agent.GetGuestDetails({ memBlockSize: true, memHotplugProbe: true }, this.opts());
    return { memBlockSizeBytes: r.memBlockSizeBytes, agentVersion: r.agentDetails?.version ?? '' };
  }

  async updateInterface(iface: GuestInterface): Promise<void> {
    await this.agent.UpdateInterface({ interface: interfaceToGrpc(iface) }, this.opts());
  }

  async updateRoutes(routes: readonly GuestRoute[]): Promise<void> {
    await this.agent.UpdateRoutes({ routes: { Routes: routes.map(routeToGrpc) } }, this.opts());
  }

  async addArpNeighbors(neighbors: readonly GuestNeighbor[]): Promise<void> {
    await this.agent.AddARPNeighbors({ neighbors: { ARPNeighbors: neighbors.map(neighborToGrpc) } }, this.opts());
  }

  async getMetrics(): Promise<string> {
    return (await this.agent.GetMetrics({}, this.opts())).metrics;
  }

  async nextOomEvent(signal?: AbortSignal): Promise<string> {
    return (await this.agent.GetOOMEvent({}, signal ? { signal } : {})).containerId;
  }

  close(): void {
    this.ttrpc.close();
  }

  private opts(timeoutMs = DEFAULT_TIMEOUT_MS): CallOptions {
    return { timeoutMs };
  }
}
