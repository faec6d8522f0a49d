// The sandbox's events as containerd's task events: one mapping, applied in the order the
// sandbox emitted them, into the one ordered publisher.
import type { SandboxEvent } from '../sandbox/sandbox.js';
import { TOPIC, type EventPublisher } from './events/index.js';
import { goTimestamp } from './timestamps.js';

export function publishSandboxEvent(events: Pick<EventPublisher, 'publish'>, e: SandboxEvent, pid: number): void {
  switch (e.type) {
    case 'created':
      events.publish(TOPIC.create, {
        containerId: e.containerId,
        bundle: e.bundle,
        rootfs: e.rootfs.map((m) => ({ type: m.type, source: m.source, options: [...m.options] })),
        io: { stdin: e.stdio.stdin, stdout: e.stdio.stdout, stderr: e.stdio.stderr, terminal: e.stdio.terminal },
        pid,
      });
      return;
    case 'started':
      if (e.execId) events.publish(TOPIC.execStarted, { containerId: e.containerId, execId: e.execId, pid });
      else events.publish(TOPIC.start, { containerId: e.containerId, pid });
      return;
    case 'exec-added':
      events.publish(TOPIC.execAdded, { containerId: e.containerId, execId: e.execId });
      return;
    case 'oom':
      events.publish(TOPIC.oom, { containerId: e.containerId });
      return;
    case 'exited':
      events.publish(TOPIC.exit, { containerId: e.containerId, id: e.execId || e.containerId, pid, exitStatus: e.exit.exitStatus, exitedAt: goTimestamp(e.exit.exitedAt) });
      return;
    case 'paused':
      events.publish(TOPIC.paused, { containerId: e.containerId });
      return;
    case 'resumed':
      events.publish(TOPIC.resumed, { containerId: e.containerId });
      return;
    case 'deleted':
      events.publish(TOPIC.delete, { containerId: e.containerId, id: e.containerId, pid, exitStatus: e.exit.exitStatus, exitedAt: goTimestamp(e.exit.exitedAt) });
      return;
  }
}
