// Signal numbers (the agent API carries numbers; Node reports names).
import { constants } from 'node:os';

export function signalNumber(name: NodeJS.Signals): number {
  return constants.signals[name] ?? 0;
}

/** Signals whose default action ends a process: what killing a never-started container means. */
const TERMINATING: ReadonlySet<number> = new Set(
  (['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGABRT', 'SIGKILL', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGPIPE'] as const).map(
    (s) => constants.signals[s],
  ),
);

export function isTerminating(signal: number): boolean {
  return TERMINATING.has(signal);
}
