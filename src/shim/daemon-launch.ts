// Starting the long-running daemon from `start`: the same executable with the same flags
// and no action, in its own session, with no stdio of ours (containerd reads start's
// combined output until EOF, so a daemon holding that pipe would hang it). The daemon
// reports "ready" or its startup error on a private pipe (fd 3), which start alone holds.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ShimFlags } from './flags.js';

/** Names the readiness pipe's fd in the daemon's environment; absent when run by hand. */
export const READY_FD_ENV = 'KATA_SHIM_READY_FD';
const READY_FD = 3;

export interface DaemonCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/** This very script under this very node, e.g. `node /usr/local/bin/containerd-shim-kata-v2`. */
export function selfCommand(): DaemonCommand {
  const script = process.argv[1];
  if (!script) throw new Error('cannot tell which script to re-run as the shim daemon');
  return { file: process.execPath, args: [...process.execArgv, script] };
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

export function launchDaemon(cmd: DaemonCommand, flags: ShimFlags, bundle: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<LaunchedDaemon> {
  const child = spawn(cmd.file, [...cmd.args, ...daemonArgs(flags)], {
    cwd: bundle,
    env: { ...env, [READY_FD_ENV]: String(READY_FD) },
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  return waitReady(child, timeoutMs);
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<LaunchedDaemon> {
  const pipe = child.stdio[READY_FD] as Readable | null;
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
    let text = '';
    const finish = (err: Error | undefined): void => {
      clearTimeout(timer);
      pipe?.removeAllListeners('data');
      pipe?.destroy();
      child.removeAllListeners('close');
      child.unref();
      if (err) {
        kill();
        reject(err);
      } else resolve({ pid: pid!, kill });
    };
    const timer = setTimeout(() => finish(new Error(`shim daemon did not listen within ${timeoutMs} ms`)), timeoutMs);
    child.once('error', (err) => finish(new Error(`cannot run the shim daemon: ${err.message}`)));
    // 'close' (not 'exit') so an error line written just before exiting is read first.
    child.once('close', (code, signal) =>
      finish(new Error(`shim daemon exited before listening (${signal ? `signal ${signal}` : `exit code ${code}`})${text ? `: ${text.trim()}` : ''}`)),
    );
    pipe?.setEncoding('utf8');
    pipe?.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      const line = text.slice(0, nl);
      if (line === 'ready') finish(undefined);
      else finish(new Error(line.replace(/^error /, '')));
    });
  });
}
