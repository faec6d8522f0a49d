// The default cleanup after a dead shim (`delete`): what can be released from outside
// the daemon without the sandbox's persisted state. The real service's hook will also
// stop the VM it finds recorded for the id.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { shimSocketPath } from './address.js';
import { unmountAll } from './rootfs-mounts.js';
import type { CleanupContext } from './shim-context.js';
import { probeSocket } from './socket.js';

export async function cleanupAfterCrash(ctx: CleanupContext): Promise<void> {
  const rootfs = join(ctx.bundle, 'rootfs');
  const layers = await unmountAll(rootfs);
  if (layers > 0) ctx.log.warn({ rootfs, layers }, 'unmounted rootfs left by a dead shim');
  // The socket of a shim that died without removing it; a live one is not ours to touch.
  const socket = shimSocketPath(ctx.containerdAddress, ctx.namespace, ctx.id);
  if ((await probeSocket(socket)) === 'stale') {
    await rm(socket, { force: true });
    ctx.log.warn({ socket }, 'removed the socket of a dead shim');
  }
}
