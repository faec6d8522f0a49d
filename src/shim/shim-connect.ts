// Asking a running shim who it is (Connect over ttrpc): only `start` for an id whose shim
// already runs needs this, so it is loaded on that path alone and `start` otherwise never
// loads the protobuf code.
import { containerd_task_v2_Task } from '../gen/services.js';
import { connectUnix } from '../ttrpc/client.js';

/** The pid of the shim serving `path`; throws with a one-line reason when it does not answer. */
export async function runningShimPid(path: string, id: string): Promise<number> {
  const client = await connectUnix(path, { connectTimeoutMs: 2000 });
  try {
    const res = await client.call(containerd_task_v2_Task, 'Connect', { id }, { timeoutMs: 5000 });
    return res.shimPid;
  } catch (err) {
    throw new Error(`a process listens on ${path} but does not answer Connect: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.close();
  }
}
