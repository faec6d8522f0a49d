// virtiofsd: the vhost-user daemon that serves the sandbox's shared directory to the
// guest over virtio-fs. One per VM; it exits on its own when QEMU disconnects.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, RuntimeError } from '../../errors/index.js';
import { SupervisedProcess, describeExit } from '../supervised-process.js';

export interface VirtiofsdOptions {
  readonly path: string;
  readonly socketPath: string;
  readonly sharedDir: string;
  /** `virtio_fs_cache`: auto, always or none. */
  readonly cache: string;
  readonly extraArgs: readonly string[];
}

export function virtiofsdArgs(o: VirtiofsdOptions): string[] {
  return [`--socket-path=${o.socketPath}`, '-o', `source=${o.sharedDir}`, '-o', `cache=${o.cache}`, ...o.extraArgs];
}

/** Starts virtiofsd and resolves once its socket exists (QEMU connects to it at start). */
export async function startVirtiofsd(o: VirtiofsdOptions, timeoutMs = 5000): Promise<SupervisedProcess> {
  if (!existsSync(o.path)) {
    throw new RuntimeError(Code.FAILED_PRECONDITION, `virtiofsd ${o.path} does not exist (shared_fs = "virtio-fs" needs it)`);
  }
  const proc = new SupervisedProcess('virtiofsd', o.path, virtiofsdArgs(o));
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(o.socketPath)) {
    if (!proc.running) throw new RuntimeError(Code.INTERNAL, describeExit(await proc.exited));
    if (Date.now() > deadline) {
      await proc.kill();
      throw new RuntimeError(Code.DEADLINE_EXCEEDED, `virtiofsd did not create ${o.socketPath} within ${timeoutMs} ms`);
    }
    await sleep(10);
  }
  return proc;
}
