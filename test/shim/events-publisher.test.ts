// The shim's ordered event publisher: unit tests against a scripted Events server of our
// own, then against a real private containerd 1.6 watched through its Subscribe stream.
import { mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { containerd as pb } from '../../src/gen/proto.js';
import {
  EVENT_CALL_TIMEOUT_MS,
  EVENT_FLUSH_TIMEOUT_MS,
  EventPublisher,
  bareTypeUrl,
  TASK_EVENT_TYPES,
  TOPIC,
  forwardRequest,
  packTaskEvent,
  type EventPublisherOptions,
  type PackedEvent,
  type TaskTopic,
} from '../../src/shim/events/index.js';
import { ZERO_GO_TIME, exitTimestamp, goTimestamp } from '../../src/shim/timestamps.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { startContainerd, type Containerd } from '../support/containerd.js';
import { watchCtrEvents, type CtrEventWatch } from '../support/ctr-events.js';
import { connectEvents, type EventsClient, type EventStream, type ObservedEvent } from '../support/containerd-events.js';
import { eventLoopTurns, waitUntil } from '../support/wait.js';
import { memoryLogger, startFakeEvents, type FakeEvents, type ForwardCall, type LogLine, type Reaction } from './fake-events.js';

const NS = 'default';
const oom = (containerId: string) => ({ containerId });
const payload = (c: ForwardCall | undefined): Uint8Array => c?.envelope.event?.value ?? new Uint8Array();
const idOf = (c: ForwardCall): string => pb.events.TaskOOM.decode(payload(c)).containerId;
const errorLines = (lines: LogLine[]) => lines.filter((l) => l.level === 'error');

describe('timestamps', () => {
  it('goTimestamp splits milliseconds into seconds and non-negative nanos', () => {
    expect(goTimestamp(new Date(1_700_000_000_123))).toEqual({ seconds: 1_700_000_000, nanos: 123_000_000 });
    expect(goTimestamp(new Date(-1))).toEqual({ seconds: -1, nanos: 999_000_000 });
    expect(() => goTimestamp(new Date(Number.NaN))).toThrow(RangeError);
  });

  it("ZERO_GO_TIME is Go's zero time.Time, used while a process has not exited", () => {
    expect(ZERO_GO_TIME).toEqual({ seconds: -62_135_596_800, nanos: 0 });
    expect(new Date(ZERO_GO_TIME.seconds * 1000).toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(exitTimestamp(undefined)).toEqual(ZERO_GO_TIME);
    expect(exitTimestamp(new Date(5_000))).toEqual({ seconds: 5, nanos: 0 });
  });
});

describe('packTaskEvent / forwardRequest', () => {
  it('uses the bare type name for every topic and encodes with its own message', () => {
    for (const [topic, type] of Object.entries(TASK_EVENT_TYPES)) {
      const packed = packTaskEvent(topic as TaskTopic, { containerId: 'c1' });
      expect(packed.event.type_url).toBe(type.getTypeUrl('type.googleapis.com').replace('type.googleapis.com/', ''));
      expect(packed.event.type_url).toMatch(/^containerd\.events\.Task\w+$/);
      expect(type.decode(packed.event.value)).toMatchObject({ containerId: 'c1' });
    }
  });

  it('builds the envelope with timestamp, namespace and topic', () => {
    const packed = packTaskEvent(TOPIC.start, { containerId: 'c1', pid: 7 }, new Date(2_000));
    expect(forwardRequest('ns1', packed)).toEqual({
      envelope: { timestamp: { seconds: 2, nanos: 0 }, namespace: 'ns1', topic: '/tasks/start', event: packed.event },
    });
  });

  it('refuses a missing event or an unknown topic (containerd 1.6 would crash on an empty envelope)', () => {
    expect(() => packTaskEvent(TOPIC.exit, undefined as never)).toThrow(/without an event/);
    expect(() => packTaskEvent(TOPIC.exit, null as never)).toThrow(TypeError);
    expect(() => packTaskEvent('/tasks/?' as TaskTopic, {} as never)).toThrow(/unknown task topic/);
    const broken = { ...packTaskEvent(TOPIC.oom, oom('c')), event: undefined } as unknown as PackedEvent;
    expect(() => forwardRequest(NS, broken)).toThrow(/has no event/);
  });

  it('types each topic with its own message', () => {
    const p = new EventPublisher({ namespace: NS, log: memoryLogger().log });
    p.publish(TOPIC.exit, { containerId: 'c', id: 'c', pid: 1, exitStatus: 0, exitedAt: ZERO_GO_TIME });
    // @ts-expect-error a TaskExit field on /tasks/start
    p.publish(TOPIC.start, { containerId: 'c', exitStatus: 1 });
    expect(() => {
      // @ts-expect-error not a task topic
      p.publish('/tasks/checkpointed', { containerId: 'c' });
    }).toThrow(/unknown task topic/);
    expect(() => {
      // @ts-expect-error an event is required
      p.publish(TOPIC.oom);
    }).toThrow(TypeError);
  });
});

describe('EventPublisher against a scripted Events server', () => {
  let dir: string;
  let fake: FakeEvents;
  let logs: LogLine[];
  const publishers: EventPublisher[] = [];

  function publisher(opts: Partial<EventPublisherOptions> = {}): EventPublisher {
    const { log, lines } = memoryLogger();
    logs = lines;
    const p = new EventPublisher({ ttrpcAddress: fake.path, namespace: NS, log, retryBaseMs: 20, ...opts });
    publishers.push(p);
    return p;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shim-events-'));
    fake = await startFakeEvents(dir);
  });
  afterEach(async () => {
    for (const p of publishers.splice(0)) await p.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards in publish order with the envelope containerd expects', async () => {
    const p = publisher({ ttrpcAddress: `unix://${fake.path}` });
    const before = Date.now();
    p.publish(TOPIC.create, { containerId: 'c1', bundle: '/b', pid: 10, io: { stdout: '/o' } });
    p.publish(TOPIC.start, { containerId: 'c1', pid: 10 });
    p.publish(TOPIC.exit, { containerId: 'c1', id: 'c1', pid: 10, exitStatus: 3, exitedAt: goTimestamp(new Date(9_000)) });
    await p.flush();
    expect(fake.delivered.items.map((c) => c.envelope.topic)).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit']);
    const [create, , exit] = fake.delivered.items;
    expect(create?.namespaceMetadata).toEqual([NS]);
    expect(create?.deadline).toBeGreaterThan(Date.now() + 3_000); // the 5 s per-call timeout
    expect(create?.envelope.namespace).toBe(NS);
    expect(create?.envelope.event?.type_url).toBe('containerd.events.TaskCreate');
    const seconds = create?.envelope.timestamp?.seconds ?? 0;
    expect(seconds).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(seconds).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(pb.events.TaskCreate.decode(payload(create))).toMatchObject({ bundle: '/b', pid: 10, io: { stdout: '/o' } });
    expect(pb.events.TaskExit.decode(payload(exit))).toMatchObject({ exitStatus: 3, exitedAt: { seconds: 9 } });
    expect(fake.connections()).toBe(1);
  });

  it('retries a failing event with backoff count × base, holding later events behind it', async () => {
    fake.react = (c) => (c.index < 3 ? new RuntimeError(Code.UNKNOWN, 'busy') : 'ok');
    const p = publisher({ retryBaseMs: 40 });
    p.publish(TOPIC.oom, oom('a'));
    p.publish(TOPIC.oom, oom('b'));
    p.publish(TOPIC.oom, oom('c'));
    await p.flush();
    expect(fake.calls.map(idOf)).toEqual(['a', 'a', 'a', 'a', 'b', 'c']);
    expect(fake.delivered.items.map(idOf)).toEqual(['a', 'b', 'c']);
    const at = fake.calls.map((c) => c.at);
    for (const k of [1, 2, 3]) expect(at[k]! - at[k - 1]!).toBeGreaterThanOrEqual(k * 40 - 5);
    expect(logs.filter((l) => l.level === 'warn' && /will retry/.test(l.msg))).toHaveLength(3);
    expect(errorLines(logs)).toEqual([]);
  });

  it('drops an event after 5 retries with an error log and goes on with the next', async () => {
    fake.react = (c) => (idOf(c) === 'doomed' ? new RuntimeError(Code.INTERNAL, 'nope') : 'ok');
    const p = publisher({ retryBaseMs: 5 });
    p.publish(TOPIC.oom, oom('doomed'));
    p.publish(TOPIC.oom, oom('next'));
    await p.flush();
    expect(fake.calls.map(idOf)).toEqual([...Array<string>(6).fill('doomed'), 'next']);
    expect(fake.delivered.items.map(idOf)).toEqual(['next']);
    expect(errorLines(logs)).toMatchObject([{ topic: '/tasks/oom', attempts: 6, msg: expect.stringMatching(/dropping/) }]);
  });

  it('drops at once what containerd rejects as INVALID_ARGUMENT: a retry cannot fix it', async () => {
    fake.react = (c) => (c.index === 0 ? new RuntimeError(Code.INVALID_ARGUMENT, 'bad envelope') : 'ok');
    const p = publisher({ retryBaseMs: 10_000 });
    p.publish(TOPIC.oom, oom('bad'));
    p.publish(TOPIC.oom, oom('good'));
    await p.flush();
    expect(fake.calls.map(idOf)).toEqual(['bad', 'good']);
    expect(errorLines(logs)).toHaveLength(1);
  });

  it('reconnects at once when the connection drops mid-call, without backoff', async () => {
    fake.react = (c) => (c.index === 1 ? 'drop' : 'ok');
    const p = publisher({ retryBaseMs: 60_000 });
    for (const id of ['a', 'b', 'c']) p.publish(TOPIC.oom, oom(id));
    await p.flush();
    expect(fake.calls.map(idOf)).toEqual(['a', 'b', 'b', 'c']);
    expect(fake.delivered.items.map(idOf)).toEqual(['a', 'b', 'c']);
    expect(fake.connections()).toBe(2);
  });

  it('reconnects to a restarted server and keeps the order', async () => {
    const p = publisher({ retryBaseMs: 30 });
    p.publish(TOPIC.oom, oom('before'));
    await p.flush();
    await fake.close(); // the socket file is gone: connects fail until the new server is up
    rmSync(fake.path, { force: true });
    for (const id of ['x1', 'x2', 'x3']) p.publish(TOPIC.oom, oom(id));
    // The new server comes up only once a forward has failed against the missing socket.
    await waitUntil(() => logs.some((l) => l.level === 'warn' && /will retry/.test(l.msg)), { what: 'a failed forward while the server is down' });
    fake = await startFakeEvents(dir);
    await p.flush();
    expect(fake.delivered.items.map(idOf)).toEqual(['x1', 'x2', 'x3']);
    expect(logs.some((l) => l.level === 'info' && /after retrying/.test(l.msg))).toBe(true);
  });

  it('times a call out after callTimeoutMs and retries it', async () => {
    fake.react = (c) => (c.index === 0 ? 'hang' : 'ok');
    const p = publisher({ callTimeoutMs: 100, retryBaseMs: 10 });
    p.publish(TOPIC.oom, oom('slow'));
    p.publish(TOPIC.oom, oom('after'));
    await p.flush();
    expect(fake.delivered.items.map(idOf)).toEqual(['slow', 'after']);
    expect(logs.find((l) => l.level === 'warn')?.err).toMatchObject({ message: 'context deadline exceeded' });
  });

  it('bounds the queue: when full, the oldest waiting event is dropped with an error log', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    fake.react = async (c): Promise<Reaction> => {
      if (c.index === 0) await gate;
      return 'ok';
    };
    const p = publisher({ queueLimit: 3 });
    p.publish(TOPIC.oom, oom('1'));
    await waitUntil(() => fake.calls.length === 1, { what: "'1' to be in flight" }); // the rest will wait
    for (const id of ['2', '3', '4', '5']) p.publish(TOPIC.oom, oom(id));
    expect(errorLines(logs)).toMatchObject([{ topic: '/tasks/oom', queueLimit: 3, msg: expect.stringMatching(/queue full/) }]);
    release();
    await p.flush();
    expect(fake.delivered.items.map(idOf)).toEqual(['1', '3', '4', '5']);
  });

  it('flush() waits only for what was published before it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    fake.react = async (c): Promise<Reaction> => {
      if (idOf(c) === 'late') await gate;
      return 'ok';
    };
    const p = publisher();
    await p.flush(); // nothing queued
    p.publish(TOPIC.oom, oom('early'));
    const early = p.flush();
    p.publish(TOPIC.oom, oom('late'));
    const late = p.flush();
    let lateDone = false;
    void late.then(() => (lateDone = true));
    await early;
    expect(fake.delivered.items.map(idOf)).toEqual(['early']);
    // 'late' reached the server, which holds its answer: until it answers, its flush must wait.
    await waitUntil(() => fake.calls.some((c) => idOf(c) === 'late'), { what: "'late' to be in flight" });
    await eventLoopTurns(3);
    expect(lateDone).toBe(false);
    release();
    await late;
    expect(fake.delivered.items.map(idOf)).toEqual(['early', 'late']);
  });

  it('flush() gives up after timeoutMs when containerd does not answer; the events stay queued and arrive later, in order', async () => {
    let answer!: () => void;
    const gate = new Promise<void>((r) => (answer = r));
    fake.react = async (): Promise<Reaction> => {
      await gate;
      return 'ok';
    };
    const p = publisher();
    for (const id of ['a', 'b', 'c']) p.publish(TOPIC.oom, oom(id));
    expect(await p.flush({ timeoutMs: 100 })).toBe(false);
    expect(logs.filter((l) => /flush timed out/.test(l.msg))).toMatchObject([
      { level: 'warn', undelivered: 3, queued: 3, timeoutMs: 100 },
    ]);
    p.publish(TOPIC.oom, oom('d'));
    answer();
    expect(await p.flush()).toBe(true);
    expect(fake.delivered.items.map(idOf)).toEqual(['a', 'b', 'c', 'd']);
    expect(fake.calls.map(idOf)).toEqual(['a', 'b', 'c', 'd']); // nothing dropped, nothing resent
    expect(errorLines(logs)).toEqual([]);
  });

  it('flush() gives up while an event waits out its retry backoff, counting only what it waited for', async () => {
    let failing = true;
    fake.react = () => (failing ? new RuntimeError(Code.UNAVAILABLE, 'containerd busy') : 'ok');
    const p = publisher({ retryBaseMs: 300 });
    p.publish(TOPIC.oom, oom('a'));
    p.publish(TOPIC.oom, oom('b'));
    const bounded = p.flush({ timeoutMs: 100 });
    p.publish(TOPIC.oom, oom('c')); // published after the flush: not counted as undelivered by it
    expect(await bounded).toBe(false);
    expect(logs.find((l) => /flush timed out/.test(l.msg))).toMatchObject({ undelivered: 2, queued: 3 });
    failing = false;
    expect(await p.flush({ timeoutMs: Number.POSITIVE_INFINITY })).toBe(true);
    expect(fake.delivered.items.map(idOf)).toEqual(['a', 'b', 'c']);
  });

  it(`flush() is bounded by default (${EVENT_FLUSH_TIMEOUT_MS} ms), before a hung call's own timeout (${EVENT_CALL_TIMEOUT_MS} ms) and retries`, async () => {
    fake.react = () => 'hang';
    const p = publisher();
    p.publish(TOPIC.delete, { containerId: 'c1', id: 'c1', pid: 1, exitStatus: 0, exitedAt: goTimestamp() });
    expect(await p.flush()).toBe(false);
    // Given up while the first call still hangs: no retry was ever sent.
    expect(fake.calls).toHaveLength(1);
    expect(fake.delivered.items).toEqual([]);
  });

  it('close() drops what is undelivered, releases flush() and ignores later publishes', async () => {
    fake.react = () => 'hang';
    const p = publisher();
    p.publish(TOPIC.oom, oom('stuck'));
    p.publish(TOPIC.oom, oom('waiting'));
    const flushed = p.flush();
    await waitUntil(() => fake.calls.length === 1, { what: "'stuck' to be in flight" });
    await p.close();
    await flushed;
    expect(logs.find((l) => /closed with undelivered/.test(l.msg))).toMatchObject({ level: 'warn', undelivered: 2 });
    p.publish(TOPIC.oom, oom('after-close'));
    await p.flush();
    expect(fake.delivered.items).toEqual([]);
    expect(errorLines(logs).at(-1)?.msg).toMatch(/publisher closed/);
  });
});

describe('EventPublisher without TTRPC_ADDRESS (CRI-O)', () => {
  it('only logs events', async () => {
    const { log, lines } = memoryLogger();
    const p = new EventPublisher({ ttrpcAddress: '', namespace: NS, log });
    expect(p.forwarding).toBe(false);
    p.publish(TOPIC.start, { containerId: 'c1', pid: 42 });
    await p.flush();
    expect(lines).toMatchObject([{ level: 'info', topic: '/tasks/start', event: { containerId: 'c1', pid: 42 } }]);
    await p.close();
  });
});

describe('EventPublisher against containerd 1.6', () => {
  let cd: Containerd;
  let events: EventsClient;
  let stream: EventStream;
  let ctrEvents: CtrEventWatch;
  const cleanups: Array<() => Promise<unknown> | void> = [];

  beforeAll(async () => {
    cd = await startContainerd();
    events = connectEvents(cd.address);
    stream = await events.subscribe();
    ctrEvents = await watchCtrEvents(cd, events);
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    ctrEvents?.close();
    stream?.close();
    events?.close();
    const report = await cd?.stop();
    expect(report?.killedShims ?? []).toEqual([]);
  });

  const about = (id: string) => (e: ObservedEvent) =>
    e.topic.startsWith('/tasks/') && TASK_EVENT_TYPES[e.topic as TaskTopic]?.decode(e.value).containerId === id;

  it('delivers a task lifecycle in publish order, each payload decodable by its topic', async () => {
    const id = `pub-${randomUUID().slice(0, 8)}`;
    const { log, lines } = memoryLogger();
    const p = new EventPublisher({ ttrpcAddress: cd.ttrpcAddress, namespace: NS, log });
    cleanups.push(() => p.close());
    const exitedAt = goTimestamp(new Date(1_700_000_000_500));
    p.publish(TOPIC.create, { containerId: id, bundle: `/run/${id}`, pid: 100, io: { stdin: '', stdout: '/o', stderr: '/e' } });
    p.publish(TOPIC.start, { containerId: id, pid: 100 });
    p.publish(TOPIC.paused, { containerId: id });
    p.publish(TOPIC.resumed, { containerId: id });
    p.publish(TOPIC.execAdded, { containerId: id, execId: 'e1' });
    p.publish(TOPIC.execStarted, { containerId: id, execId: 'e1', pid: 101 });
    p.publish(TOPIC.oom, { containerId: id });
    p.publish(TOPIC.exit, { containerId: id, id: 'e1', pid: 101, exitStatus: 0, exitedAt });
    p.publish(TOPIC.exit, { containerId: id, id, pid: 100, exitStatus: 137, exitedAt });
    p.publish(TOPIC.delete, { containerId: id, id, pid: 100, exitStatus: 137, exitedAt });
    await p.flush();
    await stream.next((e) => about(id)(e) && e.topic === '/tasks/delete');

    const seen = stream.log.items.filter(about(id));
    expect(seen.map((e) => e.topic)).toEqual([
      '/tasks/create',
      '/tasks/start',
      '/tasks/paused',
      '/tasks/resumed',
      '/tasks/exec-added',
      '/tasks/exec-started',
      '/tasks/oom',
      '/tasks/exit',
      '/tasks/exit',
      '/tasks/delete',
    ]);
    for (const e of seen) {
      expect(e.namespace).toBe(NS);
      expect(e.typeUrl).toBe(bareTypeUrl(TASK_EVENT_TYPES[e.topic as TaskTopic]));
    }
    const decode = <T extends TaskTopic>(i: number, topic: T) => TASK_EVENT_TYPES[topic].decode(seen[i]!.value);
    expect(decode(0, TOPIC.create)).toMatchObject({ bundle: `/run/${id}`, pid: 100, io: { stdout: '/o', stderr: '/e' } });
    expect(decode(5, TOPIC.execStarted)).toMatchObject({ execId: 'e1', pid: 101 });
    expect(decode(8, TOPIC.exit)).toMatchObject({ id, pid: 100, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 500_000_000 } });
    expect(decode(9, TOPIC.delete)).toMatchObject({ id, exitStatus: 137 });
    expect(errorLines(lines)).toEqual([]);

    // ctr decodes each Any through containerd's own type registry: every bare name resolves.
    await ctrEvents.next((l) => l.topic === '/tasks/delete' && l.payload?.container_id === id);
    const printed = ctrEvents.log.items.filter((l) => l.payload?.container_id === id);
    expect(printed.map((l) => l.topic)).toEqual(seen.map((e) => e.topic));
    expect(printed[7]?.payload).toMatchObject({ id: 'e1', pid: 101, exited_at: '2023-11-14T22:13:20.5Z' });
  });

  it('survives a containerd restart on the same address: retries, reconnects, keeps the order', async () => {
    // containerd's TTRPC_ADDRESS is fixed for a shim's life; model "same address" with a
    // symlink that we repoint at the second containerd's socket.
    const linkDir = mkdtempSync(join(tmpdir(), 'shim-ev-link-'));
    cleanups.push(() => rmSync(linkDir, { recursive: true, force: true }));
    const address = join(linkDir, 'ttrpc.sock');
    symlinkSync(cd.ttrpcAddress, address);
    const { log, lines } = memoryLogger();
    const p = new EventPublisher({ ttrpcAddress: address, namespace: NS, log, retryBaseMs: 200 });
    cleanups.push(() => p.close());

    const id = `restart-${randomUUID().slice(0, 8)}`;
    p.publish(TOPIC.create, { containerId: id, pid: 1 });
    await p.flush();
    await stream.next((e) => about(id)(e) && e.topic === '/tasks/create');

    ctrEvents.close();
    stream.close();
    events.close();
    await cd.stop();
    p.publish(TOPIC.start, { containerId: id, pid: 1 });
    p.publish(TOPIC.exit, { containerId: id, id, pid: 1, exitStatus: 0, exitedAt: goTimestamp() });
    p.publish(TOPIC.delete, { containerId: id, id, pid: 1, exitStatus: 0, exitedAt: goTimestamp() });

    cd = await startContainerd();
    events = connectEvents(cd.address);
    stream = await events.subscribe();
    const next = join(linkDir, 'next.sock');
    symlinkSync(cd.ttrpcAddress, next);
    renameSync(next, address);
    await p.flush();

    await stream.next((e) => about(id)(e) && e.topic === '/tasks/delete');
    expect(stream.log.items.filter(about(id)).map((e) => e.topic)).toEqual(['/tasks/start', '/tasks/exit', '/tasks/delete']);
    expect(lines.some((l) => l.level === 'warn' && /will retry/.test(l.msg))).toBe(true);
    expect(errorLines(lines)).toEqual([]);
  });
});
