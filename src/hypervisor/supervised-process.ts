// A child process whose exit is always observed and whose last stderr lines are
// kept for error messages. Every external process (QEMU, virtiofsd) goes through here.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { VmExit } from './hypervisor.js';
import { isStoppedState, liveGroupMembers, processState } from './proc-stat.js';

const STDERR_TAIL_BYTES = 8192;

/** Leftovers of a reaped process's group were signalled with it: this long to go, then SIGKILL. */
const GROUP_GRACE_MS = 200;
/** How long they get to go after SIGKILL before we stop waiting. */
const GROUP_REAP_MS = 1000;

export interface SupervisedSpawnOptions extends Pick<SpawnOptions, 'env' | 'cwd'> {
  /**
   * Our descriptors the child inherits as its fd 3, 4, ...: the child's copy is made by
   * dup2, which clears close-on-exec, so the caller keeps ownership of (and closes) its own.
   */
  readonly extraFds?: readonly number[];
}

/** How a process ended, in words: "qemu exited with code 0", "virtiofsd killed by SIGKILL". */
export function exitReason(name: string, code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `${name} killed by ${signal}`;
  return code === null ? `${name} failed to start` : `${name} exited with code ${code}`;
}

export class SupervisedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<VmExit>;
  private tail = '';
  private exit: VmExit | undefined;

  constructor(
    readonly name: string,
    path: string,
    args: readonly string[],
    opts: SupervisedSpawnOptions = {},
  ) {
    const { extraFds = [], ...spawnOpts } = opts;
    // Own process group: a signal aimed at the shim's group must not take the VM with it.
    this.child = spawn(path, args, { ...spawnOpts, detached: true, stdio: ['ignore', 'ignore', 'pipe', ...extraFds] });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (s: string) => {
      this.tail = (this.tail + s).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.exit ??= { code, signal, stderr: this.tail.trim(), reason: exitReason(name, code, signal) };
        resolve(this.exit);
      };
      this.child.once('error', (err) => {
        this.tail += `\n${err.message}`;
        done(null, null);
      });
      this.child.once('exit', done);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stopped by SIGSTOP (or a tracer): it cannot react to anything but SIGKILL. */
  get frozen(): boolean {
    return this.running && this.pid !== undefined && isStoppedState(processState(this.pid));
  }

  get stderrTail(): string {
    return this.tail.trim();
  }

  /** Whether the process has been reaped within `ms` (at once if it already was). */
  async exitedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.exited.then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is reaped and nothing of
   * its process group is left (virtiofsd forks its server, which outlives it for a moment).
   */
  async stop(graceMs = 3000): Promise<VmExit> {
    if (this.running) {
      // A stopped process keeps SIGTERM pending until SIGCONT; only SIGKILL reaches it.
      this.signal(this.frozen ? 'SIGKILL' : 'SIGTERM');
      if (!(await this.exitedWithin(graceMs))) this.signal('SIGKILL');
    }
    const exit = await this.exited;
    await this.sweepGroup();
    return exit;
  }

  kill(): Promise<VmExit> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /**
   * Signals the process's group (it leads one: spawned detached), so its own forks get the
   * signal too. Only while it is unreaped, when its pid cannot name anyone else's group.
   */
  signal(sig: NodeJS.Signals): void {
    if (!this.running || this.pid === undefined) return;
    if (!signalGroup(this.pid, sig)) {
      try {
        this.child.kill(sig);
      } catch {
        // Already gone: the exit handler settles `exited`.
      }
    }
  }

  /** Leftovers of the group after the leader is reaped: a short grace, then SIGKILL. */
  private async sweepGroup(): Promise<void> {
    const pgid = this.pid;
    // While any member lives the kernel keeps the pgid from being reused, so this reaches only them.
    if (pgid === undefined || liveGroupMembers(pgid).length === 0) return;
    if (await groupGoneWithin(pgid, GROUP_GRACE_MS)) return;
    signalGroup(pgid, 'SIGKILL');
    await groupGoneWithin(pgid, GROUP_REAP_MS);
  }
}

/** kill(-pgid, sig); false when no process of the group is left (ESRCH). */
function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

async function groupGoneWithin(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (liveGroupMembers(pgid).length > 0) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** The exit's reason followed by the last lines of stderr, for error messages. */
export function describeExit(e: VmExit): string {
  return `${e.reason}${e.stderr ? `: ${e.stderr.split('\n').slice(-5).join(' | ')}` : ''}`;
}
