// Is the VM still there to answer? A periodic agent health check, and the cheap fact that
// the VM process itself was stopped (SIGSTOP, a frozen cgroup): a hung guest must turn
// into exits with a reason, not into containers that look RUNNING forever.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';

export interface HealthOptions {
  /** Pause between checks. */
  readonly intervalMs: number;
  /** How long one check may take. */
  readonly timeoutMs: number;
  /** Failed checks in a row that make the guest hung. */
  readonly failures: number;
}

/**
 * Generous for TCG: an idle guest answers Check in milliseconds, but one starting twenty
 * processes at once can take seconds. A hung guest is found within about 50 s.
 */
export const DEFAULT_HEALTH: HealthOptions = { intervalMs: 5_000, timeoutMs: 10_000, failures: 3 };

/** True when the process is stopped by a signal or the freezer (/proc state T or t). */
export function processStopped(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    // The state follows the command name, which is in parentheses and may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}

/**
 * Checks until `signal` aborts; calls `onHung` once, with the reason, when the VM process
 * is stopped or the agent failed `failures` checks in a row.
 */
export async function watchHealth(
  o: HealthOptions & { check: (timeoutMs: number) => Promise<void>; vmPid: () => number | undefined; onHung: (reason: string) => void; signal: AbortSignal; log: Logger },
): Promise<void> {
  let failed = 0;
  let last = '';
  while (!o.signal.aborted) {
    try {
      await sleep(o.intervalMs, undefined, { signal: o.signal });
    } catch {
      return; // aborted
    }
    if (processStopped(o.vmPid())) return o.onHung(`the VM process ${o.vmPid()} is stopped (SIGSTOP or frozen)`);
    try {
      await o.check(o.timeoutMs);
      failed = 0;
    } catch (err) {
      if (o.signal.aborted) return;
      failed++;
      last = (err as Error).message;
      o.log.warn({ failed, err: last }, 'agent health check failed');
      if (failed >= o.failures) return o.onHung(`the guest agent failed ${failed} health checks in a row (last: ${last})`);
    }
  }
}
