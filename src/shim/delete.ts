// `delete`: containerd's cleanup call after a shim died (or on restart for an unreachable
// shim). Releases what the id may still hold, then answers a raw protobuf DeleteResponse
// on stdout. Anything on stderr is logged by containerd as "cleanup warnings".
import { resolve } from 'node:path';
import { containerd } from '../gen/proto.js';
import type { Logger } from '../log/logger.js';
import { bundleDir } from './bundle.js';
import type { ShimFlags } from './flags.js';
import type { CleanupHook } from './shim-context.js';
import { goTimestamp } from './timestamps.js';

/** 128 + SIGKILL: what Kata reports for a task whose shim is gone. */
export const DEAD_SHIM_EXIT_STATUS = 137;

export function encodeDeleteResponse(now: Date = new Date()): Uint8Array {
  return containerd.task.v2.DeleteResponse.encode({ pid: 0, exitStatus: DEAD_SHIM_EXIT_STATUS, exitedAt: goTimestamp(now) }).finish();
}

export async function deleteShim(flags: ShimFlags, cleanup: CleanupHook, log: Logger): Promise<Uint8Array> {
  const bundle = resolve(bundleDir(flags.bundle));
  await cleanup({ bundle, namespace: flags.namespace, id: flags.id, containerdAddress: flags.address, log });
  return encodeDeleteResponse();
}
