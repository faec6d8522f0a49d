// The cleanup after a dead shim (`delete`): the sandbox recorded under this id (its VM,
// share mounts and directories), the bundle's rootfs mounts and a stale socket.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { shimSocketPath } from './address.js';
import { unmountAll } from '../sandbox/mount-table.js';
import type { CleanupContext } from './shim-context.js';
import { probeSocket } from './socket.js';
import { cleanupSandbox } from '../sandbox/state-store.js';

export async function cleanupAfterCrash(ctx: CleanupContext): Promise<void> {
  const sandbox = await cleanupSandbox(ctx.id);
  if (sandbox) ctx.log.warn({ sandbox: ctx.id, vmPid: sandbox.vmPid }, 'released the VM and mounts of a dead shim');
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
