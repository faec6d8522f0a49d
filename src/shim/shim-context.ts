// The seams between the process lifecycle (start/serve/delete) and the task service:
// the daemon builds handlers through a TaskServiceFactory, `delete` calls a CleanupHook.
import type { containerd_task_v2_Task } from '../gen/services.js';
import type { Logger } from '../log/logger.js';
import type { Handlers } from '../ttrpc/service.js';
import type { ShimFlags } from './flags.js';

export type TaskHandlers = Partial<Handlers<typeof containerd_task_v2_Task>>;

export interface ShimContext {
  readonly flags: ShimFlags;
  /** Absolute bundle directory (the daemon's cwd). */
  readonly bundle: string;
  readonly namespace: string;
  readonly id: string;
  /** containerd's ttrpc socket for events (env TTRPC_ADDRESS), '' when unset. */
  readonly ttrpcAddress: string;
  readonly log: Logger;
  /** Asks the daemon to stop: the server closes gracefully (the current answer is still sent), then the process exits 0. */
  requestShutdown(): void;
}

export interface TaskService {
  readonly handlers: TaskHandlers;
  /** Resolving it stops the daemon, exactly like ctx.requestShutdown(); it may never resolve. */
  readonly shutdown: Promise<void>;
  /**
   * Called once when the daemon stops for any reason (Shutdown, SIGTERM, fatal error), after
   * the server stopped accepting calls: release the VM, mounts, sockets. Bounded by a timeout.
   */
  dispose?(): Promise<void>;
}

export type TaskServiceFactory = (ctx: ShimContext) => TaskService;

export interface CleanupContext {
  readonly bundle: string;
  readonly namespace: string;
  readonly id: string;
  /** containerd's -address, from which shim socket paths are derived. */
  readonly containerdAddress: string;
  readonly log: Logger;
}

/** What `delete` runs after a shim died: release everything the id may still hold. */
export type CleanupHook = (ctx: CleanupContext) => Promise<void>;
