// The OOM events of one container, from its start until it is removed. Notices come
// from `runc events` (oom-watch.ts), the decisions from OomTally, the count from the
// container's cgroup (container-cgroup.ts). settle() marks the point after the init's
// exit from which every OOM of the container is queued: WaitProcess for the init
// answers only after it, so the host publishes /tasks/oom before /tasks/exit.
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { OomTally } from './oom-tally.js';
import type { OomWatcher } from './oom-watch.js';

/** How long settle() waits for runc events to end by itself after the init exited (v1). */
export const OOM_WATCH_GRACE_MS = 2000;

/** A runc events notification, or the exit of one of the container's processes. */
export type OomFoundAfter = 'runc events notice' | 'process exit';

export interface OomMonitorDeps {
  /** Starts watching (runc events): `onNotice` per OOM notification. */
  watch(onNotice: () => void): OomWatcher;
  /** The container's oom_kill count; undefined where there is none to read (cgroup v1). */
  readCount(): Promise<number | undefined>;
  /** Queues one OOM event for the container; `after`: what it was found after (for the log). */
  report(after: OomFoundAfter): void;
  log: Logger;
  graceMs?: number;
  now?: () => number;
}

export class OomMonitor {
  #tally = new OomTally();
  #watcher: OomWatcher | undefined;
  /** Count reads and tally decisions, one at a time and in order. */
  #work: Promise<void> = Promise.resolve();
  #settled: Promise<void> | undefined;
  #stopped = false;

  constructor(private readonly deps: OomMonitorDeps) {}

  /** Before the init starts: kills counted earlier (a cgroup left by a container of the same id) are not this one's. */
  async prepare(): Promise<void> {
    this.#tally = new OomTally((await this.#read()) ?? 0);
  }

  /** The init runs: watch until runc events ends by itself, or stop(). */
  start(): void {
    if (this.#watcher || this.#stopped || this.#settled) return;
    this.#watcher = this.deps.watch(() => {
      void this.#step(async () => {
        if (this.#tally.notified(await this.#read(), this.#now())) this.deps.report('runc events notice');
      });
    });
  }

  /**
   * After a process of the container exited: reports a kill the count shows and no
   * event has (cgroup v2). Resolves with whether there was a count to read.
   */
  check(): Promise<boolean> {
    let counted = false;
    return this.#step(async () => {
      const count = await this.#read();
      counted = count !== undefined;
      if (this.#tally.counted(count, this.#now())) this.deps.report('process exit');
    }).then(() => counted);
  }

  /** Once the init has exited: resolves when every OOM of the container up to that exit is queued. */
  settle(): Promise<void> {
    return (this.#settled ??= this.#settle());
  }

  /** The container is being removed: no more watching. */
  stop(): void {
    this.#stopped = true;
    this.#watcher?.stop();
  }

  async #settle(): Promise<void> {
    // v2: the count already includes the kill of the init, whatever runc events saw.
    // v1: no count survives runc's cgroup removal, so take what runc events reports
    // until it ends by itself, which it does once runc has removed the cgroup.
    if (!(await this.check())) {
      await this.#watchEnd();
      await this.#work;
    }
    // The GetOOMEvent answers these reports woke are written in the current macrotask's
    // microtasks; resolving after it puts them on the wire before the WaitProcess answer.
    await nextMacrotask();
  }

  async #watchEnd(): Promise<void> {
    const watcher = this.#watcher;
    if (!watcher) return;
    const graceMs = this.deps.graceMs ?? OOM_WATCH_GRACE_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)));
    const overdue = await Promise.race([watcher.ended.then(() => false), late]);
    clearTimeout(timer);
    if (!overdue) return;
    this.deps.log.warn({ graceMs }, 'runc events did not end after the init exited: stopped, notices it had not written are lost');
    watcher.stop();
    await watcher.ended;
  }

  #step(fn: () => Promise<void>): Promise<void> {
    const run = this.#work.then(fn);
    this.#work = run.catch((err: unknown) => this.deps.log.warn({ err }, 'cannot handle an OOM notice'));
    return this.#work;
  }

  #now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async #read(): Promise<number | undefined> {
    return this.deps.readCount().catch((err: unknown) => {
      this.deps.log.warn({ err }, 'cannot read the OOM count');
      return undefined;
    });
  }
}
