// The hypervisor seen from the sandbox: a small, capability-driven interface.
// QEMU is one implementation; the sandbox never branches on which one it has.

/** What a hypervisor can do, as data, so callers decide without `if (qemu)`. */
export interface HypervisorCapabilities {
  readonly cpuHotplug: boolean;
  readonly cpuHotUnplug: boolean;
  readonly memoryHotplug: boolean;
  /** False where removing memory risks the VM (QEMU 7.2 after a CPU unplug). */
  readonly memoryHotUnplug: boolean;
  readonly sharedFs: 'virtio-fs' | 'none';
  readonly agentChannel: AgentChannelKind;
}

export type AgentChannelKind = 'vsock' | 'hybrid-vsock' | 'serial';

/** A pod NIC: a tap device in the sandbox's network namespace, seen by the guest with this MAC and MTU. */
export interface VmNic {
  readonly tap: string;
  readonly mac: string;
  readonly mtu: number;
}

export interface VmResources {
  readonly vcpus: number;
  readonly memoryMiB: number;
}

export interface ResizeResult {
  /** The size reached; may be below the target where a limit was hit. */
  readonly current: number;
  /** Why the target was not reached, for logs and the management endpoint. */
  readonly limitedBy?: string;
}

export interface VmExit {
  /** The VM process's own exit status (null when it never ran or was killed). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Last lines of stderr of the process that caused the exit, for error messages. */
  readonly stderr: string;
  /**
   * Why the VM is gone, in words for logs and errors: "qemu exited with code 0",
   * "qemu killed by SIGKILL", "stopped by the runtime", or a helper's death that took it down.
   */
  readonly reason: string;
}

export interface Hypervisor {
  readonly capabilities: HypervisorCapabilities;
  /** Process id of the VM (what containerd is told as the task pid, as Kata does). */
  readonly pid: number | undefined;
  /** The VM process is stopped (SIGSTOP, a frozen cgroup): no guest code runs, nothing will answer. */
  frozen(): boolean;
  /** The VM's host processes that still run, the VM's own first (then helpers such as virtiofsd). */
  pids(): readonly number[];
  /** CPU time the VM has used so far, in ms; undefined once it is gone. A hung guest uses next to none. */
  cpuTimeMs(): number | undefined;
  /** Where the guest's console (kernel and agent messages) is written, for diagnostics. */
  readonly consolePath: string | undefined;
  /** The unix socket that reaches the guest's debug console port; undefined when the VM has none. */
  readonly debugConsoleSocket?: string;
  /** Where the agent listens, e.g. `serial:///run/vc/vm/<id>/kata.sock`. */
  readonly agentUrl: string;
  /** Settles when the VM has gone, whoever stopped it. */
  readonly exited: Promise<VmExit>;
  /** Boots the VM; resolves once the hypervisor is controllable. */
  start(signal?: AbortSignal): Promise<void>;
  /**
   * Graceful, then forced, and bounded (a few seconds even for a frozen VM); always reaps
   * every helper process and removes sockets. Idempotent.
   */
  stop(): Promise<void>;
  resources(): VmResources;
  resizeVcpus(target: number): Promise<ResizeResult>;
  resizeMemory(targetMiB: number): Promise<ResizeResult>;
}
