// Starting the long-running daemon from `start`: the same executable with the same flags
// and no action, in its own session, with no stdio of ours (containerd reads start's
// combined output until EOF, so a daemon holding that pipe would hang it), and the shim
// socket `start` bound as its fd 3. The socket accepts connections from the moment it is
// bound; containerd's first call waits in its backlog until the daemon serves it. So
// `start` returns once the daemon runs, without waiting for Node to boot a second time
// (containerd's and Kata's shims do the same); a daemon that dies before serving leaves
// a stale socket, and containerd's first call fails and runs `delete`, which removes it.
import { spawn, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import type { ShimFlags } from './flags.js';
import { LISTEN_FD_ENV, listenerFd } from './socket.js';

const LISTEN_FD = 3;

export interface DaemonCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * V8 settings for the daemon, which idles for the pod's whole life: `--lite-mode` (no
 * optimizing compilers, lazy feedback) took 1.7-2 MB off its PSS; `--optimize-for-size`
 * and `--max-semi-space-size=1` changed nothing measurable (docs/performance.md). The
 * daemon's hot path is moving bytes between FIFOs and the agent, not JavaScript compute.
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--lite-mode'];

/** `script` under this very node, with this node's options and the daemon's own. */
export function daemonCommand(script: string): DaemonCommand {
  return { file: process.execPath, args: [...process.execArgv, ...DAEMON_NODE_OPTIONS, script] };
}

/** The daemon's flags: what start got, minus the action (Kata's newCommand). */
export function daemonArgs(flags: ShimFlags): string[] {
  const args = ['-namespace', flags.namespace, '-address', flags.address, '-publish-binary', flags.publishBinary, '-id', flags.id];
  if (flags.bundle) args.push('-bundle', flags.bundle);
  if (flags.debug) args.push('-debug');
  return args;
}

export interface LaunchedDaemon {
  readonly pid: number;
  /** Kills the daemon's whole session (it is a group leader) when start gives up. */
  kill(): void;
}

/**
 * Runs the daemon with `listener` as its fd 3 and closes this process's copy, so only the
 * daemon ever accepts on it. Resolves once the daemon process runs; rejects when it cannot
 * be run at all.
 */
export function launchDaemon(cmd: DaemonCommand, flags: ShimFlags, bundle: string, env: NodeJS.ProcessEnv, listener: net.Server): Promise<LaunchedDaemon> {
  let child: ChildProcess;
  try {
    child = spawn(cmd.file, [...cmd.args, ...daemonArgs(flags)], {
      cwd: bundle,
      env: { ...env, [LISTEN_FD_ENV]: String(LISTEN_FD) },
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', listenerFd(listener)],
    });
  } finally {
    // In the same tick as the spawn: this process never gets to accept a connection.
    listener.close();
  }
  const pid = child.pid;
  const kill = (): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run the shim daemon: ${err.message}`)));
    child.once('spawn', () => {
      child.unref();
      resolve({ pid: pid!, kill });
    });
  });
}
