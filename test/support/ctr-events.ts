// `ctr events` as a child process: containerd's event stream as its own CLI prints it,
// one line per event: `<timestamp> <namespace> <topic> <event as JSON>`.
import { createInterface } from 'node:readline';
import type { Containerd } from './containerd.js';
import { SYNC_TOPIC, waitLive, type EventsClient } from './containerd-events.js';
import { EventLog } from './event-log.js';

export interface CtrEventLine {
  raw: string;
  /** Go's time.Time String(), e.g. "2026-01-02 03:04:05.123456789 +0000 UTC". */
  timestamp: string;
  namespace: string;
  topic: string;
  /** The event decoded by containerd's typeurl registry and printed as JSON (snake_case keys). */
  payload: Record<string, unknown> | null;
}

export interface CtrEventWatch {
  readonly log: EventLog<CtrEventLine>;
  next(match: (e: CtrEventLine) => boolean, timeoutMs?: number): Promise<CtrEventLine>;
  /** What ctr wrote on stderr so far (it warns there about events it cannot decode). */
  stderr(): string;
  close(): void;
}

/** Splits a line at its topic, the first token starting with "/"; undefined for other lines. */
export function parseCtrEventLine(raw: string): CtrEventLine | undefined {
  const tokens = raw.split(' ');
  const t = tokens.findIndex((tok, i) => i > 0 && tok.startsWith('/'));
  if (t < 2) return undefined;
  const rest = tokens.slice(t + 1).join(' ').trim();
  let payload: Record<string, unknown> | null = null;
  try {
    payload = rest ? (JSON.parse(rest) as Record<string, unknown>) : null;
  } catch {
    payload = null;
  }
  return {
    raw,
    timestamp: tokens.slice(0, t - 1).join(' '),
    namespace: tokens[t - 1] ?? '',
    topic: tokens[t] ?? '',
    payload,
  };
}

/** Starts `ctr events` and resolves once it has printed a marker published through `events`. */
export async function watchCtrEvents(containerd: Containerd, events: EventsClient): Promise<CtrEventWatch> {
  const child = containerd.spawnCtr(['events']);
  const log = new EventLog<CtrEventLine>();
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  if (!child.stdout) throw new Error('ctr events: no stdout pipe');
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = parseCtrEventLine(line);
    if (parsed) log.push(parsed);
  });
  child.once('exit', (code, signal) => log.fail(new Error(`ctr events exited (${code ?? signal}): ${stderr.trim()}`)));
  const close = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  try {
    await waitLive(events.publishSync, (marker, t) =>
      log.next((e) => e.topic === SYNC_TOPIC && e.payload?.container_id === marker, t, 'sync line'),
    );
  } catch (err) {
    close();
    throw err;
  }
  return { log, next: (match, timeoutMs) => log.next(match, timeoutMs), stderr: () => stderr, close };
}
