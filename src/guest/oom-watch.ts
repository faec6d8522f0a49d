// OOM notifications for one container from `runc events`, which watches
// memory.oom_control (cgroup v1) or memory.events (v2) for us.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../log/logger.js';
import type { Runc } from './runc.js';

/** runc events also reports stats every interval; they are not needed, so rarely. */
const STATS_INTERVAL_S = 24 * 3600;
/**
 * One OOM kill is a burst of notifications (cgroup v1 signals every failed charge
 * while the cgroup thrashes); notifications closer together than this are one event.
 */
export const OOM_COALESCE_MS = 1000;

export class OomWatch {
  #child: ChildProcess | undefined;

  constructor(runc: Runc, id: string, onOom: () => void, log: Logger) {
    const child = spawn(runc.binary, runc.eventsArgs(id, STATS_INTERVAL_S), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    child.on('error', (err) => log.warn({ err }, 'cannot watch for OOM events'));
    child.stderr?.resume();
    let last = -Infinity;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        if ((JSON.parse(line) as { type?: string }).type !== 'oom') return;
        const now = Date.now();
        if (now - last >= OOM_COALESCE_MS) onOom();
        last = now;
      } catch {
        log.debug({ line }, 'runc events: not JSON');
      }
    });
    child.once('exit', () => (this.#child = undefined));
  }

  stop(): void {
    this.#child?.kill('SIGKILL');
    this.#child = undefined;
  }
}
