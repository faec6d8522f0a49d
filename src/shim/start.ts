// `start`: decide which shim serves this id, make sure it runs, write `address` (and
// `shim.pid`) in the bundle and return the address (main.ts prints it in the form the
// caller understands, start-request.ts). containerd takes start's combined stdout+stderr
// as its answer, so nothing else may be printed on success.
// containerd runs it for every container, on the critical path of every pod start: it
// binds the daemon's socket and hands it over instead of waiting for the daemon to boot
// (daemon-launch.ts), and loads nothing of the daemon's code (docs/performance.md).
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { shimSocketPath, toUnixAddress } from './address.js';
import { ADDRESS_FILE, PID_FILE, bundleDir, readBundleSpec, removeBundleFiles, writeBundleFile } from './bundle.js';
import { containerKind } from './container-type.js';
import { launchDaemon, type DaemonCommand } from './daemon-launch.js';
import { namedConfigPath } from './runtime-options.js';
import { bindShimSocket, probeSocket } from './socket.js';
import type { StartRequest } from './start-request.js';

export interface StartOptions {
  /** How to run the daemon: the entry's own file under this node (daemonCommand). */
  readonly daemonCommand: DaemonCommand;
}

/** Runs start and returns the address to print; throws with a one-line reason. */
export async function startShim(req: Pick<StartRequest, 'flags' | 'env' | 'configPath'>, opts: StartOptions): Promise<string> {
  const { flags, env } = req;
  const bundle = resolve(bundleDir(flags.bundle));
  const spec = readBundleSpec(bundle);
  const kind = containerKind(spec.annotations);
  if (kind.kind === 'pod-container') {
    // Kata joins the sandbox's shim without checking it; we check, so a pod container
    // whose sandbox shim is gone fails here with a reason instead of at connect.
    const path = shimSocketPath(flags.address, flags.namespace, kind.sandboxId);
    if ((await probeSocket(path)) !== 'live') throw new Error(`sandbox ${kind.sandboxId} has no running shim (${path})`);
    const address = toUnixAddress(path);
    writeBundleFile(bundle, ADDRESS_FILE, address);
    return address;
  }

  // A pod container (above) runs under its sandbox's configuration. The runtime options'
  // file, unless the config_path annotation overrides it, must exist; the daemon reads it.
  const named = namedConfigPath(spec.annotations, () => req.configPath);
  if (named?.from === 'options' && !existsSync(named.path)) {
    throw new Error(`configuration file ${named.path} (the runtime options' ConfigPath) does not exist`);
  }

  const path = shimSocketPath(flags.address, flags.namespace, flags.id);
  const address = toUnixAddress(path);
  if ((await probeSocket(path)) === 'live') return reuse(bundle, path, address, flags.id);

  // Replaces a stale socket a dead shim left, never a live one (socket.ts).
  const listener = await bindShimSocket(path);
  // The socket is ours from here: a start that fails removes it.
  const daemon = await launchDaemon(opts.daemonCommand, flags, bundle, env, listener).catch((err: unknown) => {
    rmSync(path, { force: true });
    throw err;
  });
  try {
    writeBundleFile(bundle, PID_FILE, String(daemon.pid));
    writeBundleFile(bundle, ADDRESS_FILE, address);
  } catch (err) {
    daemon.kill();
    rmSync(path, { force: true });
    removeBundleFiles(bundle, [PID_FILE, ADDRESS_FILE]);
    throw err;
  }
  return address;
}

/** A shim already serves this id (start ran twice): answer its address, as containerd expects. */
async function reuse(bundle: string, path: string, address: string, id: string): Promise<string> {
  const { runningShimPid } = await import('./shim-connect.js');
  writeBundleFile(bundle, PID_FILE, String(await runningShimPid(path, id)));
  writeBundleFile(bundle, ADDRESS_FILE, address);
  return address;
}
