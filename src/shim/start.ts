// `start`: decide which shim serves this id, make sure it runs, write `address` (and
// `shim.pid`) in the bundle and print the address. containerd takes start's combined
// stdout+stderr as the address, so nothing else may be printed on success.
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { containerd_task_v2_Task } from '../gen/services.js';
import { connectUnix } from '../ttrpc/client.js';
import { shimSocketPath, toUnixAddress } from './address.js';
import { ADDRESS_FILE, PID_FILE, bundleDir, readBundleSpec, removeBundleFiles, writeBundleFile } from './bundle.js';
import { containerKind } from './container-type.js';
import { launchDaemon, selfCommand, type DaemonCommand } from './daemon-launch.js';
import type { ShimFlags } from './flags.js';
import { probeSocket } from './socket.js';

export interface StartOptions {
  /** How to run the daemon; default this script under this node. */
  daemonCommand?: DaemonCommand;
  /** How long the daemon may take to listen; default 10 s. */
  readyTimeoutMs?: number;
}

/** Runs start and returns the address to print; throws with a one-line reason. */
export async function startShim(flags: ShimFlags, env: NodeJS.ProcessEnv, opts: StartOptions = {}): Promise<string> {
  const bundle = resolve(bundleDir(flags.bundle));
  const spec = await readBundleSpec(bundle);
  const kind = containerKind(spec.annotations);

  if (kind.kind === 'pod-container') {
    // Kata joins the sandbox's shim without checking it; we check, so a pod container
    // whose sandbox shim is gone fails here with a reason instead of at connect.
    const path = shimSocketPath(flags.address, flags.namespace, kind.sandboxId);
    if ((await probeSocket(path)) !== 'live') throw new Error(`sandbox ${kind.sandboxId} has no running shim (${path})`);
    const address = toUnixAddress(path);
    await writeBundleFile(bundle, ADDRESS_FILE, address);
    return address;
  }

  const path = shimSocketPath(flags.address, flags.namespace, flags.id);
  const address = toUnixAddress(path);
  const state = await probeSocket(path);
  if (state === 'live') return reuse(bundle, path, address, flags.id);
  if (state === 'stale') await rm(path, { force: true });

  const daemon = await launchDaemon(opts.daemonCommand ?? selfCommand(), flags, bundle, env, opts.readyTimeoutMs ?? 10_000).catch(
    async (err: unknown) => {
      // The daemon was killed; a socket it bound is left as a file nobody listens on.
      if ((await probeSocket(path)) === 'stale') await rm(path, { force: true });
      throw err;
    },
  );
  try {
    await writeBundleFile(bundle, PID_FILE, String(daemon.pid));
    await writeBundleFile(bundle, ADDRESS_FILE, address);
  } catch (err) {
    daemon.kill();
    await rm(path, { force: true });
    await removeBundleFiles(bundle, [PID_FILE, ADDRESS_FILE]);
    throw err;
  }
  return address;
}

/** A shim already serves this id (start ran twice): answer its address, as containerd expects. */
async function reuse(bundle: string, path: string, address: string, id: string): Promise<string> {
  const client = await connectUnix(path, { connectTimeoutMs: 2000 });
  try {
    const res = await client.call(containerd_task_v2_Task, 'Connect', { id }, { timeoutMs: 5000 });
    await writeBundleFile(bundle, PID_FILE, String(res.shimPid));
    await writeBundleFile(bundle, ADDRESS_FILE, address);
    return address;
  } catch (err) {
    throw new Error(`a process listens on ${path} but does not answer Connect: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.close();
  }
}
