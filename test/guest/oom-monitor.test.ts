// OomMonitor with a stand-in for `runc events` and for the cgroup's oom_kill count: the
// cgroup v2 path (a count to read) cannot run on this cgroup v1 host, and the races
// (a notice after the init's exit, runc events that never ends) need to be forced.
import { describe, expect, it } from 'vitest';
import { OomMonitor } from '../../src/guest/oom-monitor.js';
import type { OomWatcher } from '../../src/guest/oom-watch.js';
import { createLogger } from '../../src/log/logger.js';

class FakeWatch implements OomWatcher {
  readonly ended: Promise<void>;
  end!: () => void;
  stopped = false;
  notice: () => void = () => undefined;

  constructor() {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  stop(): void {
    this.stopped = true;
    this.end();
  }
}

interface Setup {
  monitor: OomMonitor;
  watch: FakeWatch;
  /** What each reported event was found after. */
  events: string[];
  logs: string[];
  /** The cgroup's oom_kill count; undefined is cgroup v1. */
  count: { value: number | undefined };
}

const NOTICE = 'runc events notice';
const EXIT = 'process exit';

function setup(count: number | undefined, o: { graceMs?: number; report?: () => void } = {}): Setup {
  const watch = new FakeWatch();
  const events: string[] = [];
  const logs: string[] = [];
  const c = { value: count };
  const monitor = new OomMonitor({
    watch: (onNotice) => {
      watch.notice = onNotice;
      return watch;
    },
    readCount: () => Promise.resolve(c.value),
    report: (after) => {
      events.push(after);
      o.report?.();
    },
    log: createLogger({ level: 'debug', destination: { write: (s: string) => void logs.push(s) } }),
    graceMs: o.graceMs,
  });
  return { monitor, watch, events, logs, count: c };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function isSettled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await tick();
  return done;
}

describe('OomMonitor without a count (cgroup v1): runc events is the source', () => {
  it('reports a notice while the container runs', async () => {
    const { monitor, watch, events } = setup(undefined);
    monitor.start();
    watch.notice();
    await tick();
    expect(events).toEqual([NOTICE]);
  });

  it("settles only when runc events has ended, with a notice written after the init's exit reported first", async () => {
    const { monitor, watch, events } = setup(undefined);
    await monitor.prepare();
    monitor.start();
    const order: string[] = [];
    const settled = monitor.settle().then(() => order.push(`settled after ${events.length} event(s)`));
    expect(await isSettled(settled)).toBe(false);
    // The OOM that killed the init, read by runc after the exit was known.
    watch.notice();
    watch.end();
    await settled;
    expect(order).toEqual(['settled after 1 event(s)']);
    expect(watch.stopped).toBe(false);
  });

  it('stops a runc events that does not end within the grace time, and says so', async () => {
    const { monitor, watch, logs } = setup(undefined, { graceMs: 30 });
    monitor.start();
    const t0 = Date.now();
    await monitor.settle();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(watch.stopped).toBe(true);
    expect(logs.join('')).toMatch(/runc events did not end after the init exited/);
  });

  it('settles when the container is removed while waiting', async () => {
    const { monitor, watch } = setup(undefined);
    monitor.start();
    const settled = monitor.settle();
    expect(await isSettled(settled)).toBe(false);
    monitor.stop();
    await settled;
    expect(watch.stopped).toBe(true);
  });

  it('settles at once for an init that never started', async () => {
    const { monitor, events } = setup(undefined);
    await monitor.settle();
    expect(events).toEqual([]);
  });
});

describe('OomMonitor with a count (cgroup v2): the count is the truth', () => {
  it("reports the init's kill that runc events never notified, without waiting for runc events", async () => {
    const { monitor, watch, events, count } = setup(0);
    await monitor.prepare();
    monitor.start();
    count.value = 1; // the kernel counted the kill before it sent SIGKILL
    await monitor.settle();
    expect(events).toEqual([EXIT]);
    // It keeps watching until it ends by itself or the container is removed.
    expect(watch.stopped).toBe(false);
    monitor.stop();
    expect(watch.stopped).toBe(true);
  });

  it('turns repeated notices for one kill into one event', async () => {
    const { monitor, watch, events, count } = setup(0);
    await monitor.prepare();
    monitor.start();
    count.value = 1;
    watch.notice();
    watch.notice();
    watch.notice();
    await monitor.settle();
    expect(events).toEqual([NOTICE]);
  });

  it("does not count kills from before the container's start", async () => {
    const { monitor, events } = setup(2);
    await monitor.prepare();
    monitor.start();
    await monitor.settle();
    expect(events).toEqual([]);
  });

  it("reports an exec's kill on check(), which WaitProcess for the exec awaits", async () => {
    const { monitor, events, count } = setup(0);
    await monitor.prepare();
    monitor.start();
    count.value = 1;
    expect(await monitor.check()).toBe(true);
    expect(events).toEqual([EXIT]);
    expect(await monitor.check()).toBe(true);
    expect(events).toEqual([EXIT]);
  });

  it('resolves settle() a macrotask after the last report, so the answers it woke are written first', async () => {
    const order: string[] = [];
    // Stands for the GetOOMEvent answer: a long chain of microtasks down to the socket write.
    const answer = (): void => {
      let p = Promise.resolve();
      for (let i = 0; i < 100; i++) p = p.then(() => undefined);
      void p.then(() => order.push('GetOOMEvent answer written'));
    };
    const { monitor, count } = setup(0, { report: answer });
    monitor.start();
    count.value = 1;
    await monitor.settle().then(() => order.push('WaitProcess may answer'));
    expect(order).toEqual(['GetOOMEvent answer written', 'WaitProcess may answer']);
  });
});
