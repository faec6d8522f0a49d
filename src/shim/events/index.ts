// The shim's containerd event edge: typed topics and the ordered publisher.
export { TOPIC, TASK_EVENT_TYPES, isTaskTopic, type TaskEventOf, type TaskTopic } from './topics.js';
export { bareTypeUrl } from '../type-url.js';
export { forwardRequest, packTaskEvent, type ForwardRequest, type PackedEvent } from './envelope.js';
export {
  EVENT_CALL_TIMEOUT_MS,
  EVENT_FLUSH_TIMEOUT_MS,
  EVENT_MAX_RETRIES,
  EVENT_QUEUE_LIMIT,
  EVENT_RETRY_BASE_MS,
  EventPublisher,
  type EventPublisherOptions,
  type FlushOptions,
} from './publisher.js';
