// `runc events` for one container: one notice per "oom" line, until runc ends by itself
// or stop(). runc 1.1.5 ends by itself when, on cgroup v1, the cgroup is removed (the
// kernel signals the eventfd) and, on v2, no process is left in it (cgroup.events
// populated 0). It watches memory.oom_control (v1) or memory.events (v2) for us.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../log/logger.js';
import { exitStatus, keepTail } from './launch.js';
import type { Runc } from './runc.js';

/** runc events also reports stats every interval; they are not needed, so rarely. */
const STATS_INTERVAL_S = 24 * 3600;

export interface OomWatcher {
  /** Resolves once runc events has exited and every line it wrote has been handled. */
  readonly ended: Promise<void>;
  /** Kills runc events (the container is removed, or it outstayed the init). */
  stop(): void;
}

/** Whether a line of `runc events` output is an OOM notification. Pure. */
export function isOomLine(line: string): boolean {
  try {
    return (JSON.parse(line) as { type?: unknown }).type === 'oom';
  } catch {
    return false;
  }
}

export function watchOom(runc: Runc, id: string, onNotice: () => void, log: Logger): OomWatcher {
  const child = spawn(runc.binary, runc.eventsArgs(id, STATS_INTERVAL_S), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.on('error', (err) => log.warn({ err }, 'cannot watch for OOM events'));
  const stderr = keepTail(child.stderr);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    if (isOomLine(line)) onNotice();
  });
  // 'close' comes after the last 'line': every notice is delivered before `ended`.
  const drained = new Promise<void>((resolve) => lines.once('close', resolve));
  const ended = exitStatus(child).then(async (status) => {
    // A spawn failure leaves no stream to drain.
    if (child.pid !== undefined) await drained;
    // Non-zero is normal when the init exited before runc events attached ("container does not exist").
    log.debug({ status, stderr: stderr() }, 'runc events ended');
  });
  return {
    ended,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
