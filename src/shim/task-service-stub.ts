// Placeholder task service: only Connect and Shutdown, so the process lifecycle can be
// driven end to end by containerd. Every other method answers UNIMPLEMENTED (the ttrpc
// server does that for methods without a handler). The real service implements the same
// TaskServiceFactory signature.
import type { ShimContext, TaskService } from './shim-context.js';
import { SHIM_VERSION } from './version.js';

export function createTaskService(ctx: ShimContext): TaskService {
  return {
    handlers: {
      Connect: () => ({ shimPid: process.pid, taskPid: 0, version: SHIM_VERSION }),
      Shutdown: () => {
        // No containers can exist here, so Shutdown always ends the daemon (Kata: a no-op
        // only while containers remain). The answer is sent before the server closes.
        ctx.log.info('shutdown requested by containerd');
        ctx.requestShutdown();
        return {};
      },
    },
    shutdown: new Promise<void>(() => undefined),
  };
}
