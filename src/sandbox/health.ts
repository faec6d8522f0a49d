// Is the VM still there to answer? A periodic agent health check, read together with what
// the VM process itself does: a frozen process (SIGSTOP) cannot answer at all, a VM that
// burns CPU while its agent is silent is most likely only overloaded (TCG on a busy host),
// one that idles while its agent is silent is hung. A hung guest must turn into exits with
// a reason, not into containers that look RUNNING forever; a slow one must not be killed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';

export interface HealthOptions {
  /** Pause between checks. */
  readonly intervalMs: number;
  /** How long one check may take. */
  readonly timeoutMs: number;
  /** Failed checks in a row that make an idle guest hung. */
  readonly failures: number;
  /** Failed checks in a row that make a guest hung although its VM keeps using CPU. */
  readonly busyFailures: number;
}

/**
 * An idle guest answers Check in milliseconds; one starting twenty processes under TCG can
 * take seconds. A paused or stuck guest is found within about 45 s, a spinning one in ~3 min.
 */
export const DEFAULT_HEALTH: HealthOptions = { intervalMs: 5_000, timeoutMs: 10_000, failures: 3, busyFailures: 12 };

/** A VM busier than this (share of one CPU) while its agent is silent counts as overloaded. */
const BUSY_CPU_SHARE = 0.25;

/** What the health watch reads of the VM (the Hypervisor has both). */
export interface VmActivity {
  frozen(): boolean;
  cpuTimeMs(): number | undefined;
}

/**
 * Checks until `signal` aborts; calls `onHung` once, with the reason, when the VM process
 * is frozen or the agent stayed silent for the checks its activity allows.
 */
export async function watchHealth(
  o: HealthOptions & { check: (timeoutMs: number) => Promise<void>; vm: VmActivity; onHung: (reason: string) => void; signal: AbortSignal; log: Logger },
): Promise<void> {
  let failed = 0;
  let since: { at: number; cpuMs: number } | undefined;
  while (!o.signal.aborted) {
    try {
      await sleep(o.intervalMs, undefined, { signal: o.signal });
    } catch {
      return; // aborted
    }
    if (o.vm.frozen()) return o.onHung('the VM process is stopped (SIGSTOP or frozen)');
    try {
      await o.check(o.timeoutMs);
      failed = 0;
      since = undefined;
    } catch (err) {
      if (o.signal.aborted) return;
      failed++;
      since ??= { at: performance.now(), cpuMs: o.vm.cpuTimeMs() ?? 0 };
      const share = ((o.vm.cpuTimeMs() ?? 0) - since.cpuMs) / Math.max(1, performance.now() - since.at);
      const busy = share > BUSY_CPU_SHARE;
      const message = (err as Error).message;
      o.log.warn({ failed, vmCpuShare: Number(share.toFixed(2)), err: message }, 'agent health check failed');
      if (failed >= (busy ? o.busyFailures : o.failures)) {
        return o.onHung(`the guest agent failed ${failed} health checks in a row while the VM ${busy ? 'kept using CPU' : 'stayed idle'} (last: ${message})`);
      }
    }
  }
}
