// runc's command line: every cgroup and container-state operation goes through it, so
// cgroup v1 (test hosts) versus v2 (the guest) is runc's problem, not the agent's.
// A private --root keeps the agent's containers apart from anything else on the host.
import { execFile } from 'node:child_process';
import type * as oci from '../oci/runtime-spec.js';
import { Code, RuntimeError } from '../errors/index.js';

export interface RuncOptions {
  /** runc executable; found on PATH by default. */
  binary?: string;
  /** State directory (runc --root). */
  root: string;
  /** Kills a runc command that takes longer; default 60 s (the host's own RPC timeout). */
  timeoutMs?: number;
}

export interface RuncState {
  id: string;
  pid: number;
  /** created | running | paused | stopped */
  status: string;
  bundle: string;
}

/** The `data` of `runc events --stats` (runc's types.Stats), as JSON. */
export interface RuncStats {
  cpu?: {
    usage?: { total?: number; percpu?: number[]; kernel?: number; user?: number };
    throttling?: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  };
  memory?: {
    cache?: number;
    usage?: RuncMemoryEntry;
    swap?: RuncMemoryEntry;
    kernel?: RuncMemoryEntry;
    kernelTCP?: RuncMemoryEntry;
    raw?: Record<string, number>;
  };
  pids?: { current?: number; limit?: number };
  blkio?: Record<string, RuncBlkioEntry[] | undefined>;
  hugetlb?: Record<string, { usage?: number; max?: number; failcnt?: number }>;
}

export interface RuncMemoryEntry {
  limit?: number;
  usage?: number;
  max?: number;
  failcnt?: number;
}

export interface RuncBlkioEntry {
  major?: number;
  minor?: number;
  op?: string;
  value?: number;
}

export class Runc {
  readonly binary: string;
  readonly root: string;
  readonly #timeoutMs: number;

  constructor(opts: RuncOptions) {
    this.binary = opts.binary ?? 'runc';
    this.root = opts.root;
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /**
   * Arguments of a foreground `runc run`: runc stays our child and exits with the
   * container's status. --debug makes it log the exit at once (see runc-exit-log.ts).
   */
  runArgs(o: { bundle: string; id: string; pidFile: string; logFile: string }): string[] {
    return [...this.#global(o.logFile), '--debug', 'run', '--bundle', o.bundle, '--pid-file', o.pidFile, o.id];
  }

  /** Arguments of a foreground `runc exec` of a process.json (terminal comes from the file). */
  execArgs(o: { id: string; processFile: string; pidFile: string; logFile: string }): string[] {
    return [...this.#global(o.logFile), '--debug', 'exec', '--process', o.processFile, '--pid-file', o.pidFile, o.id];
  }

  /** Arguments of `runc events`: JSON lines, one per OOM; stats only every `intervalS`. */
  eventsArgs(id: string, intervalS: number): string[] {
    return [...this.#global(), 'events', '--interval', `${intervalS}s`, id];
  }

  async kill(id: string, signal: number, all = false): Promise<void> {
    await this.#run(['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  async delete(id: string, force = false): Promise<void> {
    await this.#run(['delete', ...(force ? ['--force'] : []), id]);
  }

  async pause(id: string): Promise<void> {
    await this.#run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.#run(['resume', id]);
  }

  /** Applies LinuxResources (OCI JSON) to a running container's cgroups. */
  async update(id: string, resources: oci.LinuxResources): Promise<void> {
    await this.#run(['update', '--resources', '-', id], JSON.stringify(resources));
  }

  async stats(id: string): Promise<RuncStats> {
    const out = await this.#run(['events', '--stats', id]);
    const event = JSON.parse(out) as { type?: string; data?: RuncStats };
    return event.data ?? {};
  }

  /** undefined when runc does not know the container (any more). */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      return JSON.parse(await this.#run(['state', id])) as RuncState;
    } catch (err) {
      if (err instanceof RuntimeError && err.code === Code.NOT_FOUND) return undefined;
      throw err;
    }
  }

  async ps(id: string): Promise<number[]> {
    return JSON.parse(await this.#run(['ps', '--format', 'json', id])) as number[];
  }

  async list(): Promise<RuncState[]> {
    return (JSON.parse(await this.#run(['list', '--format', 'json'])) as RuncState[] | null) ?? [];
  }

  #global(logFile?: string): string[] {
    return ['--root', this.root, ...(logFile ? ['--log', logFile] : []), '--log-format', 'json'];
  }

  #run(args: string[], input?: string): Promise<string> {
    const argv = [...this.#global(), ...args];
    return new Promise((resolve, reject) => {
      const child = execFile(
        this.binary,
        argv,
        { timeout: this.#timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          reject(runcError(args, stderr, err));
        },
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  }
}

/** The message of runc's last error log line (JSON with --log-format json), else its stderr. */
export function runcMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  for (const line of lines.reverse()) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' && entry.msg) return entry.msg;
    } catch {
      return line.trim();
    }
  }
  return '';
}

function runcError(args: string[], stderr: string, err: Error & { code?: unknown; killed?: boolean }): RuntimeError {
  const what = `runc ${args.filter((a) => a !== '-').join(' ')}`;
  if (err.code === 'ENOENT') return new RuntimeError(Code.FAILED_PRECONDITION, `${what}: runc is not installed`, { cause: err });
  if (err.killed) return new RuntimeError(Code.DEADLINE_EXCEEDED, `${what}: timed out`, { cause: err });
  const msg = runcMessage(stderr) || err.message;
  return new RuntimeError(runcCode(msg), `${what}: ${msg}`, { cause: err });
}

function runcCode(msg: string): Code {
  if (/does not exist|not found/i.test(msg)) return Code.NOT_FOUND;
  if (/not running|not paused|is paused|is stopped|container not|cannot .* stopped/i.test(msg)) return Code.FAILED_PRECONDITION;
  return Code.INTERNAL;
}
