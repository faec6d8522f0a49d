// Processes as /proc/<pid>/stat shows them: a stopped (SIGSTOP) QEMU cannot answer QMP,
// and a helper's forks outlive it in its process group.
import { readdirSync, readFileSync } from 'node:fs';

/** One letter of proc(5): R running, S sleeping, D disk wait, T stopped, t traced, Z zombie... */
export type ProcState = string;

export interface ProcStat {
  readonly state: ProcState;
  readonly ppid: number;
  readonly pgid: number;
}

/**
 * The fields we use of a /proc/<pid>/stat line. The command name in parentheses may itself
 * hold spaces and parentheses, so the fields start after the last ')'.
 */
export function parseProcStat(stat: string): ProcStat | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const [state, ppid, pgid] = stat.slice(close + 1).trim().split(/\s+/);
  if (!state || !/^[A-Za-z]$/.test(state) || !ppid || !pgid) return undefined;
  return { state, ppid: Number(ppid), pgid: Number(pgid) };
}

function readStat(pid: number | string): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone, or /proc unreadable
  }
}

/** The state of `pid`, or undefined when the process is gone. */
export const processState = (pid: number): ProcState | undefined => readStat(pid)?.state;

/** Stopped by a signal (T) or a tracer (t): it runs no code until SIGCONT, but SIGKILL still works. */
export const isStoppedState = (s: ProcState | undefined): boolean => s === 'T' || s === 't';

/**
 * Processes of group `pgid` that still run. Zombies do not count: orphans are reaped by
 * PID 1, which can take seconds (measured here: 1.5-2 s), but they hold nothing any more.
 */
export function liveGroupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      const s = readStat(d);
      return s !== undefined && s.pgid === pgid && s.state !== 'Z';
    })
    .map(Number);
}
