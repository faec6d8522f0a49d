// The task event topics the shim publishes and the one message type each carries
// (cd-1.6 runtime/events.go, api/events/task.proto). The map is the single source of
// truth: publish() is typed from it, so a topic can only carry its own message.
import { containerd } from '../../gen/proto.js';

const ev = containerd.events;

export const TOPIC = {
  create: '/tasks/create',
  start: '/tasks/start',
  exit: '/tasks/exit',
  delete: '/tasks/delete',
  oom: '/tasks/oom',
  execAdded: '/tasks/exec-added',
  execStarted: '/tasks/exec-started',
  paused: '/tasks/paused',
  resumed: '/tasks/resumed',
} as const;

// /tasks/checkpointed is left out on purpose: Checkpoint answers Unimplemented.
export const TASK_EVENT_TYPES = {
  [TOPIC.create]: ev.TaskCreate,
  [TOPIC.start]: ev.TaskStart,
  [TOPIC.exit]: ev.TaskExit,
  [TOPIC.delete]: ev.TaskDelete,
  [TOPIC.oom]: ev.TaskOOM,
  [TOPIC.execAdded]: ev.TaskExecAdded,
  [TOPIC.execStarted]: ev.TaskExecStarted,
  [TOPIC.paused]: ev.TaskPaused,
  [TOPIC.resumed]: ev.TaskResumed,
} as const;

export type TaskTopic = keyof typeof TASK_EVENT_TYPES;

type EncodeProps<C> = C extends { encode(message: infer P, ...rest: never[]): unknown } ? P : never;

/** The message a topic carries, as plain properties (what the generated encode takes). */
export type TaskEventOf<T extends TaskTopic> = EncodeProps<(typeof TASK_EVENT_TYPES)[T]>;

export function isTaskTopic(topic: string): topic is TaskTopic {
  return Object.hasOwn(TASK_EVENT_TYPES, topic);
}
