// Which OOM signals of one container become events for the host. Pure.
// Where the kernel's oom_kill count of the container's cgroup can be read (cgroup v2),
// a rise of the count is an OOM and runc's notifications only say when to look:
// runc 1.1.5 notifies again on every memory.events change once oom_kill > 0, and can
// miss the kill of the init altogether. Where it cannot (v1), a notification is an OOM.
// Either way an event says "this container hit OOM", not how often: OOMs less than
// OOM_COALESCE_MS apart are one event (one allocation storm kills several processes,
// and v1 notifies on every failed charge while the cgroup thrashes).

export const OOM_COALESCE_MS = 1000;

export class OomTally {
  /** The count that the OOMs seen so far account for. */
  #counted: number;
  #lastOom = -Infinity;

  /** `baseline`: kills counted before this container started (a reused cgroup). */
  constructor(baseline = 0) {
    this.#counted = baseline;
  }

  /** runc events said "oom" at `now`; `count` was read after it (undefined: none to read). Report? */
  notified(count: number | undefined, now: number): boolean {
    if (count !== undefined) return this.counted(count, now);
    return this.#oom(now);
  }

  /**
   * A reading taken at `now`, after a process of the container exited: the kernel counts
   * a kill before it sends SIGKILL, so the count includes whatever killed that process.
   * Report?
   */
  counted(count: number | undefined, now: number): boolean {
    if (count === undefined || count <= this.#counted) return false;
    this.#counted = count;
    return this.#oom(now);
  }

  /** An OOM happened at `now`: an event unless one less than OOM_COALESCE_MS ago was. */
  #oom(now: number): boolean {
    const report = now - this.#lastOom >= OOM_COALESCE_MS;
    this.#lastOom = now;
    return report;
  }
}
