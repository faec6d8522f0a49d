// Turns a typed task event into the ForwardRequest containerd expects (protocol-reference
// §2.6). Pure. The packed form always carries an event: containerd 1.6 dereferences
// envelope.event without a nil check (events/exchange), so an envelope without one
// would crash containerd, not just be rejected.
import type { containerd } from '../../gen/proto.js';
import type { MessageClass } from '../../ttrpc/index.js';
import { goTimestamp, type Timestamp } from '../timestamps.js';
import { bareTypeUrl } from '../type-url.js';
import { TASK_EVENT_TYPES, isTaskTopic, type TaskEventOf, type TaskTopic } from './topics.js';

export type ForwardRequest = containerd.services.events.ttrpc.v1.ForwardRequest.$Properties;

/** An event ready to send: topic, publish time and the encoded payload (never absent). */
export interface PackedEvent {
  readonly topic: TaskTopic;
  readonly timestamp: Timestamp;
  readonly event: { readonly type_url: string; readonly value: Uint8Array };
}

/**
 * Encodes `event` for `topic`, stamped with `now` (as Go's publisher stamps at Publish).
 * Throws TypeError for an unknown topic or a missing event: both are caller bugs, and
 * nothing is queued for them.
 */
export function packTaskEvent<T extends TaskTopic>(topic: T, event: TaskEventOf<T>, now = new Date()): PackedEvent {
  if (!isTaskTopic(topic)) throw new TypeError(`events: unknown task topic ${JSON.stringify(topic)}`);
  if (event === null || typeof event !== 'object') {
    throw new TypeError(`events: refusing to publish ${topic} without an event`);
  }
  const type = TASK_EVENT_TYPES[topic] as MessageClass<unknown, TaskEventOf<T>> & { getTypeUrl(prefix?: string): string };
  return {
    topic,
    timestamp: goTimestamp(now),
    event: { type_url: bareTypeUrl(type), value: type.encode(event).finish() },
  };
}

/** The Forward request for `packed`; asserts once more, at the wire edge, that the event is there. */
export function forwardRequest(namespace: string, packed: PackedEvent): ForwardRequest {
  const event = packed.event as PackedEvent['event'] | null | undefined;
  if (!event || !event.type_url || !(event.value instanceof Uint8Array)) {
    throw new TypeError(`events: envelope for ${packed.topic} has no event; not sending it`);
  }
  return {
    envelope: {
      timestamp: packed.timestamp,
      namespace,
      topic: packed.topic,
      event: { type_url: event.type_url, value: event.value },
    },
  };
}
