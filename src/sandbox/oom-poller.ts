// OOM events from the guest. Two GetOOMEvent long polls are always outstanding on the
// agent's one connection, so an OOM the agent queues before it answers a container's
// WaitProcess is answered before that wait: /tasks/oom precedes /tasks/exit by
// construction (the agent orders the two; responses arrive in order).
import type { Agent } from '../agent/agent.js';
import { Code, toRuntimeError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';

const PARALLEL_POLLS = 2;

export function pollOomEvents(agent: Pick<Agent, 'nextOomEvent'>, onOom: (containerId: string) => void, signal: AbortSignal, log: Logger): void {
  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      let id: string;
      try {
        id = await agent.nextOomEvent(signal);
      } catch (err) {
        const e = toRuntimeError(err);
        // UNAVAILABLE: the sandbox was destroyed; UNIMPLEMENTED: an agent without OOM events.
        if (!signal.aborted && e.code !== Code.UNAVAILABLE && e.code !== Code.UNIMPLEMENTED) log.warn({ err: e.message }, 'OOM event poll ended');
        return;
      }
      onOom(id);
    }
  };
  for (let i = 0; i < PARALLEL_POLLS; i++) void loop();
}
