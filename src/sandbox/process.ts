// One process of a container (its init or an exec) as the sandbox owns it: its state,
// the host end of its stdio, and the two moments callers wait for (the exit, and the
// exit having been reported with all output delivered).
import type { Process } from '../oci/runtime-spec.js';
import type { ProcessState } from './process-state.js';

export interface ExitInfo {
  readonly exitStatus: number;
  readonly exitedAt: Date;
  /** Why the process ended, when the sandbox ended it (the VM died, the agent hung). */
  readonly reason?: string;
}

/** containerd's stdio for the process (FIFO paths or a URI), kept for State. */
export interface StdioPaths {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

/** The guest process's streams, as the sandbox exposes them (the agent is never handed out). */
export interface ProcessStreams {
  write(data: Uint8Array): Promise<number>;
  /** An empty result is the end of the stream. */
  read(stream: 'stdout' | 'stderr', maxBytes: number): Promise<Uint8Array>;
  closeStdin(): Promise<void>;
}

/** The host end of a process's stdio (containerd's FIFOs), implemented by the shim. */
export interface HostStdio {
  /** Starts copying once the process exists in the guest; called at most once. */
  attach(streams: ProcessStreams): void;
  /** Settles when the output reached the host end (or copying ended); never rejects. */
  readonly outputDone: Promise<void>;
  /** Forwards what was already written, then closes the guest process's stdin. */
  closeStdin(): Promise<void>;
  /** Releases every descriptor; idempotent. */
  close(): Promise<void>;
}

export class SandboxProcess {
  state: ProcessState = { kind: 'created' };
  /** Set when the guest process exists and the stdio copy runs. */
  attached = false;
  /** CloseIO arrived before Start: applied once the copy runs. */
  stdinCloseRequested = false;
  readonly exited: Promise<ExitInfo>;
  readonly reported: Promise<ExitInfo>;
  #resolveExited!: (e: ExitInfo) => void;
  #resolveReported!: (e: ExitInfo) => void;

  constructor(
    readonly containerId: string,
    /** '' for the container's init. */
    readonly execId: string,
    /** The id the agent knows the process by (Kata uses the container id for init). */
    readonly agentExecId: string,
    readonly stdio: StdioPaths,
    readonly io: HostStdio,
    /** An exec's process spec, sent to the agent at Start (as Kata does). */
    readonly spec?: Process,
  ) {
    this.exited = new Promise((r) => (this.#resolveExited = r));
    this.reported = new Promise((r) => (this.#resolveReported = r));
  }

  get isInit(): boolean {
    return this.execId === '';
  }

  /** "container c1" or "exec e1 of container c1", for messages. */
  get what(): string {
    return this.isInit ? `container ${this.containerId}` : `exec ${this.execId} of container ${this.containerId}`;
  }

  markExited(e: ExitInfo): void {
    this.#resolveExited(e);
  }

  markReported(e: ExitInfo): void {
    this.#resolveReported(e);
  }
}
