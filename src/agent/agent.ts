// The agent as the sandbox sees it: domain and OCI values in, no protobufs. The
// sandbox depends on this interface; AgentClient is the ttrpc implementation.
import type { LinuxResources, Process, Spec } from '../oci/runtime-spec.js';
import type { ContainerStats } from './stats.js';

export type { ContainerStats } from './stats.js';

/** A filesystem the agent mounts in the guest (Kata's grpc.Storage). */
export interface GuestStorage {
  readonly driver: string;
  readonly source: string;
  readonly fstype: string;
  readonly options: readonly string[];
  readonly mountPoint: string;
}

/** Kata's types.IPAddress: `prefixLength` travels as the decimal string `mask`. */
export interface GuestIpAddress {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  readonly prefixLength: number;
}

/** A NIC the guest configures (Kata's types.Interface); the guest finds it by `mac`. */
export interface GuestInterface {
  /** The interface's name in the guest, e.g. eth0 (the pod's name for it). */
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly addresses: readonly GuestIpAddress[];
  /** The host-side link kind it mirrors ("veth", ...), informational. */
  readonly kind: string;
}

/** Kata's types.Route: `dest` '' is the default route; `scope` is the RT_SCOPE_* number. */
export interface GuestRoute {
  readonly family: 'ipv4' | 'ipv6';
  readonly dest: string;
  readonly gateway: string;
  readonly device: string;
  readonly source: string;
  readonly scope: number;
  /** RTNH_F_* bits, e.g. onlink (4) for a gateway outside the interface's subnet. */
  readonly flags: number;
}

/** Kata's types.ARPNeighbor: a static neighbour entry; `state` is the NUD_* bitmask. */
export interface GuestNeighbor {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  readonly device: string;
  readonly mac: string;
  readonly state: number;
  readonly flags: number;
}

export interface GuestDetails {
  readonly memBlockSizeBytes: number;
  readonly agentVersion: string;
}

/** Told how long each agent RPC took (`action`: the request's proto name, e.g. `grpc.CreateContainerRequest`). */
export type AgentRpcObserver = (action: string, durationMs: number) => void;

export interface Agent {
  /** Settles when the connection to the agent is gone. */
  readonly closed: Promise<unknown>;
  /** Health.Check; rejects when the agent does not answer SERVING within `timeoutMs`. */
  check(timeoutMs?: number): Promise<void>;
  createSandbox(req: { sandboxId: string; hostname: string; storages: readonly GuestStorage[]; sandboxPidns?: boolean }): Promise<void>;
  destroySandbox(): Promise<void>;
  /** `sandboxPidns`: the container joins the PID namespace of the sandbox's first container. */
  createContainer(req: { containerId: string; spec: Spec; storages?: readonly GuestStorage[]; sandboxPidns?: boolean }): Promise<void>;
  startContainer(containerId: string): Promise<void>;
  removeContainer(containerId: string, timeoutSec?: number): Promise<void>;
  execProcess(containerId: string, execId: string, process: Process): Promise<void>;
  signalProcess(containerId: string, execId: string, signal: number): Promise<void>;
  /** Resolves with the exit status; no timeout. */
  waitProcess(containerId: string, execId: string): Promise<number>;
  writeStdin(containerId: string, execId: string, data: Uint8Array): Promise<number>;
  /** An empty result means end of stream. No timeout. */
  readStdout(containerId: string, execId: string, maxBytes: number): Promise<Uint8Array>;
  readStderr(containerId: string, execId: string, maxBytes: number): Promise<Uint8Array>;
  closeStdin(containerId: string, execId: string): Promise<void>;
  ttyWinResize(containerId: string, execId: string, rows: number, columns: number): Promise<void>;
  updateContainer(containerId: string, resources: LinuxResources): Promise<void>;
  statsContainer(containerId: string): Promise<ContainerStats>;
  pauseContainer(containerId: string): Promise<void>;
  resumeContainer(containerId: string): Promise<void>;
  /** `nbCpus` is the total number of CPUs that should be online. */
  onlineCpuMem(req: { nbCpus: number; cpuOnly: boolean; wait?: boolean }): Promise<void>;
  guestDetails(): Promise<GuestDetails>;
  updateInterface(iface: GuestInterface): Promise<void>;
  /** Replaces the routes of the devices named in `routes`. */
  updateRoutes(routes: readonly GuestRoute[]): Promise<void>;
  addArpNeighbors(neighbors: readonly GuestNeighbor[]): Promise<void>;
  /** GetMetrics: the agent's and the guest's metrics, as Prometheus text. */
  getMetrics(): Promise<string>;
  /** Long poll: the id of the next container whose cgroup hit OOM. */
  nextOomEvent(signal?: AbortSignal): Promise<string>;
  close(): void;
}
