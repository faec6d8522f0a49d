// Our ttrpc client forwards events to a real containerd 1.6 (its TTRPC_ADDRESS socket), and
// containerd's own event stream (gRPC Subscribe and `ctr events`) shows what it accepted.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerd as pb, google } from '../../src/gen/proto.js';
import { containerd_services_events_ttrpc_v1_Events as EventsService } from '../../src/gen/services.js';
import { connectUnix, serviceClient, type ServiceClient, type TtrpcClient } from '../../src/ttrpc/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { startContainerd, type Containerd } from '../support/containerd.js';
import { connectEvents, type EventsClient, type EventStream, type ObservedEvent } from '../support/containerd-events.js';
import { watchCtrEvents, type CtrEventWatch } from '../support/ctr-events.js';

type Envelope = pb.services.events.ttrpc.v1.Envelope.$Properties;

const NAMESPACE = 'default';
const CALL = { timeoutMs: 5_000, metadata: { 'containerd-namespace-ttrpc': NAMESPACE } };

function nowTimestamp(): google.protobuf.Timestamp.$Properties {
  const ms = Date.now();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function taskExit(containerId: string): pb.events.TaskExit.$Properties {
  return { containerId, id: `${containerId}-exec`, pid: 4242, exitStatus: 137, exitedAt: { seconds: 1_700_000_000, nanos: 123_456_789 } };
}

/** A valid /tasks/exit envelope; the event's type_url is the bare name containerd 1.6 resolves. */
function exitEnvelope(containerId: string, overrides: Partial<Envelope> = {}): Envelope {
  return {
    timestamp: nowTimestamp(),
    namespace: NAMESPACE,
    topic: '/tasks/exit',
    event: { type_url: 'containerd.events.TaskExit', value: pb.events.TaskExit.encode(taskExit(containerId)).finish() },
    ...overrides,
  };
}

const isExitOf = (containerId: string) => (e: ObservedEvent) =>
  e.topic === '/tasks/exit' && e.typeUrl === 'containerd.events.TaskExit' && pb.events.TaskExit.decode(e.value).containerId === containerId;

describe('events Forward to containerd 1.6 over ttrpc', () => {
  let cd: Containerd;
  let events: EventsClient;
  let stream: EventStream;
  let ctrEvents: CtrEventWatch;
  let client: TtrpcClient;
  let forwarder: ServiceClient<typeof EventsService>;

  beforeAll(async () => {
    cd = await startContainerd();
    events = connectEvents(cd.address);
    stream = await events.subscribe();
    ctrEvents = await watchCtrEvents(cd, events);
    client = await connectUnix(cd.ttrpcAddress);
    forwarder = serviceClient(client, EventsService);
  });

  afterAll(async () => {
    client?.close();
    stream?.close();
    ctrEvents?.close();
    events?.close();
    const report = await cd?.stop();
    expect(report?.killedShims ?? []).toEqual([]);
  });

  it('forwards /tasks/exit and containerd publishes it with the payload intact', async () => {
    const id = `c-${randomUUID().slice(0, 8)}`;
    const envelope = exitEnvelope(id);
    await forwarder.Forward({ envelope }, CALL);

    const seen = await stream.next(isExitOf(id));
    expect(seen.namespace).toBe(NAMESPACE);
    expect(seen.timestamp).toEqual(envelope.timestamp);
    const exit = pb.events.TaskExit.decode(seen.value);
    expect(exit).toMatchObject({ containerId: id, id: `${id}-exec`, pid: 4242, exitStatus: 137 });
    expect(exit.exitedAt).toMatchObject({ seconds: 1_700_000_000, nanos: 123_456_789 });

    // ctr decodes the Any through containerd's type registry: proof the bare type_url resolves.
    const line = await ctrEvents.next((l) => l.topic === '/tasks/exit' && l.payload?.container_id === id);
    expect(line.namespace).toBe(NAMESPACE);
    expect(line.payload).toEqual({
      container_id: id,
      id: `${id}-exec`,
      pid: 4242,
      exit_status: 137,
      exited_at: '2023-11-14T22:13:20.123456789Z',
    });
  });

  // containerd's validateEnvelope (events/exchange): each failure is INVALID_ARGUMENT.
  // (An envelope with no event at all crashes containerd 1.6 with a nil dereference, so it is not sent.)
  const malformed: Array<[string, (id: string) => Envelope, RegExp]> = [
    ['topic /tasks/? (invalid identifier)', (id) => exitEnvelope(id, { topic: '/tasks/?' }), /envelope topic "\/tasks\/\?"/],
    ['topic without a leading slash', (id) => exitEnvelope(id, { topic: 'tasks/exit' }), /must start with '\/'/],
    ['empty namespace', (id) => exitEnvelope(id, { namespace: '' }), /invalid namespace: identifier must not be empty/],
    ['invalid namespace', (id) => exitEnvelope(id, { namespace: 'Bad Namespace!' }), /invalid namespace/],
    ['no timestamp', (id) => exitEnvelope(id, { timestamp: null }), /timestamp must be set/],
  ];

  it.each(malformed)('rejects an envelope with %s as INVALID_ARGUMENT', async (_name, build, message) => {
    const id = `bad-${randomUUID().slice(0, 8)}`;
    const err = await forwarder.Forward({ envelope: build(id) }, CALL).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as RuntimeError).message).toMatch(message);
    expect((err as RuntimeError).message).toMatch(/invalid argument/);

    // The same connection still works, and the rejected event was never published:
    // containerd publishes synchronously inside Forward, so it would have arrived first.
    const good = `ok-${randomUUID().slice(0, 8)}`;
    await forwarder.Forward({ envelope: exitEnvelope(good) }, CALL);
    await stream.next(isExitOf(good));
    expect(stream.log.items.some(isExitOf(id))).toBe(false);
  });

  it('accepts an explicit epoch timestamp (only an absent one is "not set")', async () => {
    const id = `epoch-${randomUUID().slice(0, 8)}`;
    await forwarder.Forward({ envelope: exitEnvelope(id, { timestamp: { seconds: 0, nanos: 0 } }) }, CALL);
    const seen = await stream.next(isExitOf(id));
    expect(seen.timestamp ?? { seconds: 0, nanos: 0 }).toMatchObject({ seconds: 0, nanos: 0 });
  });
});
