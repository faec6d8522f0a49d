// `delete`: containerd's cleanup call after a shim died (or on restart for an unreachable
// shim). Releases what the id may still hold, then answers a raw protobuf DeleteResponse
// on stdout. Anything on stderr is logged by containerd as "cleanup warnings".
import { resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import { bundleDir } from './bundle.js';
import type { ShimFlags } from './flags.js';
import { bytesField, varintField } from './proto-wire.js';
import type { CleanupHook } from './shim-context.js';
import { goTimestamp } from './timestamps.js';

/** 128 + SIGKILL: what Kata reports for a task whose shim is gone. */
export const DEAD_SHIM_EXIT_STATUS = 137;

/**
 * containerd.task.v2.DeleteResponse {pid 0, exit_status 137, exited_at now}, encoded by
 * hand: this small message is all `delete` needs of the generated protobuf code, which
 * would cost every `delete` run its loading time (test/shim/lifecycle-unit.test.ts
 * decodes it with the generated code).
 */
export function encodeDeleteResponse(now: Date = new Date()): Uint8Array {
  const exitedAt = goTimestamp(now);
  const timestamp = [...varintField(1, exitedAt.seconds), ...varintField(2, exitedAt.nanos)];
  const pid = varintField(1, 0);
  const exitStatus = varintField(2, DEAD_SHIM_EXIT_STATUS);
  return Uint8Array.from([...pid, ...exitStatus, ...bytesField(3, timestamp)]);
}

export async function deleteShim(flags: ShimFlags, cleanup: CleanupHook, log: Logger): Promise<Uint8Array> {
  const bundle = resolve(bundleDir(flags.bundle));
  await cleanup({ bundle, namespace: flags.namespace, id: flags.id, containerdAddress: flags.address, log });
  return encodeDeleteResponse();
}
