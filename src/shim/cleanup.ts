// The cleanup after a dead shim (`delete`): the sandbox this id belongs to (its VM, share
// mounts and directories) when that sandbox's shim is gone, the bundle's rootfs mounts
// and a stale socket.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { unmountAll } from '../sandbox/mount-table.js';
import { cleanupSandbox } from '../sandbox/state-store.js';
import { shimSocketPath } from './address.js';
import { readBundleSpec } from './bundle.js';
import { containerKind } from './container-type.js';
import type { CleanupContext } from './shim-context.js';
import { probeSocket } from './socket.js';

/** The sandbox (and so the shim socket) an id belongs to: a pod container's is its pod's. */
async function owningSandbox(ctx: CleanupContext): Promise<string> {
  try {
    const kind = containerKind(readBundleSpec(ctx.bundle).annotations);
    return kind.kind === 'pod-container' ? kind.sandboxId : ctx.id;
  } catch {
    return ctx.id; // no readable config.json: only the id's own records can be found
  }
}

export async function cleanupAfterCrash(ctx: CleanupContext): Promise<void> {
  const sandboxId = await owningSandbox(ctx);
  const socket = shimSocketPath(ctx.containerdAddress, ctx.namespace, sandboxId);
  const shim = await probeSocket(socket);
  if (shim === 'live') {
    // containerd 1.6 runs `delete` whenever a task's connection closes, also after a clean
    // Delete of a pod's sandbox container whose shim still serves the pod's other
    // containers: that shim owns the VM and the share, so they are not ours to release.
    ctx.log.debug({ sandbox: sandboxId, socket }, 'the sandbox shim is alive; leaving its sandbox alone');
  } else {
    // A pod container outliving its sandbox container is the last to know the pod's VM.
    const sandbox = await cleanupSandbox(sandboxId, undefined, ctx.log);
    if (sandbox) ctx.log.warn({ sandbox: sandboxId, vmPid: sandbox.vmPid }, 'released the VM and mounts of a dead shim');
  }
  const rootfs = join(ctx.bundle, 'rootfs');
  const layers = await unmountAll(rootfs);
  if (layers > 0) ctx.log.warn({ rootfs, layers }, 'unmounted rootfs left by a dead shim');
  // The socket of a shim that died without removing it; a live one is not ours to touch.
  if (shim === 'stale') {
    await rm(socket, { force: true });
    ctx.log.warn({ socket }, 'removed the socket of a dead shim');
  }
}
