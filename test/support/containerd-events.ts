// containerd's own view of events, over its gRPC Events service (Subscribe and Publish),
// so tests can check what a shim forwarded without trusting the shim's side.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { containerd as pb } from '../../src/gen/proto.js';
import { EventLog } from './event-log.js';

const PROTO = fileURLToPath(new URL('../interop/proto/containerd/services/events/v1/events.proto', import.meta.url));
/** Topic of the marker events that prove a subscription is live. */
export const SYNC_TOPIC = '/test/sync';
const SYNC_TYPE = 'containerd.events.TaskOOM';

export interface EventPayload {
  typeUrl: string;
  value: Uint8Array;
}

export interface ObservedEvent extends EventPayload {
  timestamp: { seconds: number; nanos: number } | null;
  namespace: string;
  topic: string;
}

export interface EventStream {
  readonly log: EventLog<ObservedEvent>;
  next(match: (e: ObservedEvent) => boolean, timeoutMs?: number): Promise<ObservedEvent>;
  close(): void;
}

export interface EventsClient {
  /** Subscribes and resolves once a marker event published afterwards has come back. */
  subscribe(filters?: readonly string[]): Promise<EventStream>;
  publish(namespace: string, topic: string, event: EventPayload): Promise<void>;
  /** Publishes one marker event (TaskOOM with container_id = marker) on SYNC_TOPIC. */
  publishSync(marker: string): Promise<void>;
  close(): void;
}

interface WireAny {
  type_url: string;
  value: Buffer;
}
interface WireEnvelope {
  timestamp: { seconds: number; nanos: number } | null;
  namespace: string;
  topic: string;
  event: WireAny | null;
}
interface EventsStub extends grpc.Client {
  Subscribe(request: { filters: string[] }): grpc.ClientReadableStream<WireEnvelope>;
  Publish(
    request: { topic: string; event: WireAny },
    metadata: grpc.Metadata,
    callback: (err: grpc.ServiceError | null) => void,
  ): grpc.ClientUnaryCall;
}
type EventsStubConstructor = new (address: string, credentials: grpc.ChannelCredentials) => EventsStub;

let stubConstructor: EventsStubConstructor | undefined;
function loadStub(): EventsStubConstructor {
  if (stubConstructor) return stubConstructor;
  const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    containerd: { services: { events: { v1: { Events: EventsStubConstructor } } } };
  };
  stubConstructor = loaded.containerd.services.events.v1.Events;
  return stubConstructor;
}

/** True for a marker event carrying `marker`. */
export function isSync(e: ObservedEvent, marker: string): boolean {
  return e.topic === SYNC_TOPIC && e.typeUrl === SYNC_TYPE && pb.events.TaskOOM.decode(e.value).containerId === marker;
}

/**
 * Repeats publishSync until `seen` confirms the marker arrived: a subscription gives no
 * signal when it becomes live, and an event published before that is silently missed.
 */
export async function waitLive(
  publishSync: (marker: string) => Promise<void>,
  seen: (marker: string, timeoutMs: number) => Promise<unknown>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const marker = `sync-${randomUUID()}`;
  for (;;) {
    await publishSync(marker);
    try {
      await seen(marker, 200);
      return;
    } catch (err) {
      if (performance.now() > deadline) throw new Error(`event subscription not live after ${timeoutMs} ms`, { cause: err });
    }
  }
}

export function connectEvents(address: string): EventsClient {
  const Stub = loadStub();
  const stub = new Stub(`unix://${address}`, grpc.credentials.createInsecure());
  const streams = new Set<grpc.ClientReadableStream<WireEnvelope>>();

  const publish = (namespace: string, topic: string, event: EventPayload): Promise<void> =>
    new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('containerd-namespace', namespace);
      stub.Publish({ topic, event: { type_url: event.typeUrl, value: Buffer.from(event.value) } }, md, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  const publishSync = (marker: string): Promise<void> =>
    publish('default', SYNC_TOPIC, {
      typeUrl: SYNC_TYPE,
      value: pb.events.TaskOOM.encode({ containerId: marker }).finish(),
    });

  async function subscribe(filters: readonly string[] = []): Promise<EventStream> {
    // Filters are OR-ed by containerd: add one for the markers so waitLive can see them.
    const all = filters.length ? [...filters, `topic=="${SYNC_TOPIC}"`] : [];
    const call = stub.Subscribe({ filters: all });
    streams.add(call);
    const log = new EventLog<ObservedEvent>();
    call.on('data', (env: WireEnvelope) =>
      log.push({
        timestamp: env.timestamp,
        namespace: env.namespace,
        topic: env.topic,
        typeUrl: env.event?.type_url ?? '',
        value: env.event?.value ?? Buffer.alloc(0),
      }),
    );
    call.on('error', (err: grpc.ServiceError) => log.fail(err));
    call.on('end', () => log.fail(new Error('event stream ended')));
    const close = (): void => {
      streams.delete(call);
      call.cancel();
    };
    try {
      await waitLive(publishSync, (marker, t) => log.next((e) => isSync(e, marker), t, 'sync event'));
    } catch (err) {
      close();
      throw err;
    }
    return { log, next: (match, timeoutMs) => log.next(match, timeoutMs), close };
  }

  return {
    subscribe,
    publish,
    publishSync,
    close() {
      for (const s of streams) s.cancel();
      streams.clear();
      stub.close();
    },
  };
}
