// Processes as /proc/<pid>/stat shows them: a stopped (SIGSTOP) QEMU cannot answer QMP,
// and a helper's forks outlive it in its process group.
import { readdirSync, readFileSync } from 'node:fs';
import { clockTicksTo, parsePidStat } from '../procfs/process.js';

/** One letter of proc(5): R running, S sleeping, D disk wait, T stopped, t traced, Z zombie... */
export type ProcState = string;

export interface ProcStat {
  readonly state: ProcState;
  readonly ppid: number;
  readonly pgid: number;
  /** utime + stime, in clock ticks. */
  readonly cpuTicks: number;
}

/** The fields we use of a /proc/<pid>/stat line (src/procfs parses it). */
export function parseProcStat(stat: string): ProcStat | undefined {
  const s = parsePidStat(stat);
  return s && { state: s.state, ppid: s.ppid, pgid: s.pgid, cpuTicks: s.utime + s.stime };
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

/** CPU time `pid` has used, in ms, or undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  const s = readStat(pid);
  return s === undefined ? undefined : clockTicksTo(s.cpuTicks, 'ms');
}

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
