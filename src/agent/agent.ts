// The agent as the sandbox sees it: domain and OCI values in, no protobufs. The
// sandbox depends on this interface; AgentClient is the ttrpc implementation.
import type { grpc } from '../gen/proto.js';
import type { LinuxResources, Process, Spec } from '../oci/runtime-spec.js';

/** Cgroup statistics as the agent reports them; the shim converts them for containerd. */
export type ContainerStats = grpc.StatsContainerResponse;

/** A filesystem the agent mounts in the guest (Kata's grpc.Storage). */
export interface GuestStorage {
  readonly driver: string;
  readonly source: string;
  readonly fstype: string;
  readonly options: readonly string[];
  readonly mountPoint: string;
}

export interface GuestDetails {
  readonly memBlockSizeBytes: number;
  readonly agentVersion: string;
}

export interface Agent {
  /** Settles when the connection to the agent is gone. */
  readonly closed: Promise<unknown>;
  check(): Promise<void>;
  createSandbox(req: { sandboxId: string; hostname: string; storages: readonly GuestStorage[]; sandboxPidns?: boolean }): Promise<void>;
  destroySandbox(): Promise<void>;
  createContainer(req: { containerId: string; spec: Spec; storages?: readonly GuestStorage[] }): Promise<void>;
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
  /** Long poll: the id of the next container whose cgroup hit OOM. */
  nextOomEvent(signal?: AbortSignal): Promise<string>;
  close(): void;
}
