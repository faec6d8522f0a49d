import { describe, expect, it } from 'vitest';
import { OOM_COALESCE_MS, OomTally } from '../../src/guest/oom-tally.js';

const LATER = 10 * OOM_COALESCE_MS;

describe('OomTally: which OOM signals become events', () => {
  it('with a count (cgroup v2): an event when the count rises, whatever runc repeats', () => {
    const t = new OomTally();
    expect(t.notified(1, 0)).toBe(true);
    // runc 1.1.5 notifies on every memory.events change once oom_kill > 0.
    expect(t.notified(1, LATER)).toBe(false);
    expect(t.counted(1, LATER)).toBe(false);
    expect(t.counted(3, 2 * LATER)).toBe(true);
    expect(t.notified(3, 3 * LATER)).toBe(false);
  });

  it('with a count: a kill runc never notified is reported from the reading after the exit', () => {
    const t = new OomTally();
    expect(t.counted(0, 0)).toBe(false);
    expect(t.counted(1, 0)).toBe(true);
    expect(t.counted(1, LATER)).toBe(false);
  });

  it('with a count: kills less than a second apart are one event', () => {
    const t = new OomTally();
    expect(t.counted(1, 0)).toBe(true);
    expect(t.counted(2, 20)).toBe(false);
    expect(t.counted(3, 20 + OOM_COALESCE_MS)).toBe(true);
  });

  it('ignores kills counted before the container started (a reused cgroup)', () => {
    const t = new OomTally(2);
    expect(t.counted(2, 0)).toBe(false);
    expect(t.notified(2, 0)).toBe(false);
    expect(t.notified(3, 0)).toBe(true);
  });

  it('without a count (cgroup v1): a notification is an event, a burst is one', () => {
    const t = new OomTally();
    expect(t.notified(undefined, 0)).toBe(true);
    expect(t.notified(undefined, 500)).toBe(false);
    expect(t.notified(undefined, 500 + OOM_COALESCE_MS - 1)).toBe(false);
    expect(t.notified(undefined, 3000)).toBe(true);
    expect(t.counted(undefined, LATER)).toBe(false);
  });
});
