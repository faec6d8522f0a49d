// The shim's one ordered event queue to containerd (protocol-reference §2.6).
// publish() only enqueues; a single sender forwards events strictly in order, so a
// later event never overtakes an earlier one, not even while one is being retried
// (Go's publisher requeues failures behind later events; containerd's ordering rules,
// create → start → exit → delete, make that unsafe for us). flush() waits a bounded time
// (3 s by default): a containerd that does not answer must not hold Delete for the ~15 s
// of per-event retries; what is still undelivered then keeps being sent.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../log/logger.js';
import { Code, RuntimeError } from '../../errors/index.js';
import { EventsConnection } from './connection.js';
import { forwardRequest, packTaskEvent, type ForwardRequest, type PackedEvent } from './envelope.js';
import type { TaskEventOf, TaskTopic } from './topics.js';

/** containerd's shim publisher limits (cd-1.6 runtime/v2/shim/publisher.go). */
export const EVENT_QUEUE_LIMIT = 2048;
export const EVENT_MAX_RETRIES = 5;
export const EVENT_RETRY_BASE_MS = 1000;
export const EVENT_CALL_TIMEOUT_MS = 5000;
/** flush() waits no longer than this by default: a silent containerd must not hold Delete. */
export const EVENT_FLUSH_TIMEOUT_MS = 3000;

export interface EventPublisherOptions {
  /** containerd's TTRPC_ADDRESS; absent or empty (CRI-O) means events are only logged. */
  ttrpcAddress?: string | undefined;
  namespace: string;
  log: Logger;
  /** Retry n waits n × this; tests shorten it. */
  retryBaseMs?: number;
  maxRetries?: number;
  callTimeoutMs?: number;
  queueLimit?: number;
}

export interface FlushOptions {
  /** Stop waiting after this long (default EVENT_FLUSH_TIMEOUT_MS); Infinity waits for good. */
  timeoutMs?: number;
}

interface Queued extends PackedEvent {
  readonly seq: number;
}

interface FlushWaiter {
  readonly upTo: number;
  readonly resolve: () => void;
}

export class EventPublisher {
  private readonly log: Logger;
  private readonly namespace: string;
  private readonly connection: EventsConnection | undefined;
  private readonly retryBaseMs: number;
  private readonly maxRetries: number;
  private readonly queueLimit: number;
  private readonly stop = new AbortController();
  private readonly pending: Queued[] = [];
  private current: Queued | undefined;
  private waiters: FlushWaiter[] = [];
  private nextSeq = 0;
  private sending = false;
  private closed = false;

  constructor(options: EventPublisherOptions) {
    this.log = options.log.child({ component: 'events' });
    this.namespace = options.namespace;
    this.retryBaseMs = options.retryBaseMs ?? EVENT_RETRY_BASE_MS;
    this.maxRetries = options.maxRetries ?? EVENT_MAX_RETRIES;
    this.queueLimit = options.queueLimit ?? EVENT_QUEUE_LIMIT;
    this.connection = options.ttrpcAddress
      ? new EventsConnection({
          address: options.ttrpcAddress,
          namespace: options.namespace,
          timeoutMs: options.callTimeoutMs ?? EVENT_CALL_TIMEOUT_MS,
          log: this.log,
        })
      : undefined;
  }

  /** True when events go to containerd, false when they are only logged. */
  get forwarding(): boolean {
    return this.connection !== undefined;
  }

  /**
   * Queues `event` for `topic` and returns at once. Throws TypeError (and queues nothing)
   * for an unknown topic or a missing event.
   */
  publish<T extends TaskTopic>(topic: T, event: TaskEventOf<T>): void {
    const packed = packTaskEvent(topic, event);
    if (this.closed) {
      this.log.error({ topic }, 'events: publisher closed; dropping event');
      return;
    }
    if (!this.connection) {
      // Kata's log forwarder: with no TTRPC_ADDRESS there is nobody to tell.
      this.log.info({ topic, event }, 'events: no TTRPC_ADDRESS; event logged only');
      return;
    }
    if (this.pending.length >= this.queueLimit) {
      const dropped = this.pending.shift();
      this.log.error(
        { topic: dropped?.topic, queueLimit: this.queueLimit },
        'events: queue full; dropping the oldest undelivered event',
      );
      this.settle();
    }
    this.pending.push({ ...packed, seq: this.nextSeq++ });
    if (!this.sending) {
      this.sending = true;
      void this.drain();
    }
  }

  /**
   * Resolves true once every event published before this call has been delivered or
   * dropped, or false when `timeoutMs` passes first. Then it logs how many of those events
   * are still undelivered; they are not dropped and keep being sent, in order.
   */
  flush(options: FlushOptions = {}): Promise<boolean> {
    const upTo = this.nextSeq - 1;
    if (this.oldestUnsettled() > upTo) return Promise.resolve(true);
    const timeoutMs = options.timeoutMs ?? EVENT_FLUSH_TIMEOUT_MS;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: FlushWaiter = {
        upTo,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
      if (!Number.isFinite(timeoutMs)) return;
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.log.warn(
          { undelivered: this.unsettledUpTo(upTo), queued: this.unsettledUpTo(Number.POSITIVE_INFINITY), timeoutMs },
          'events: flush timed out; the undelivered events stay queued and keep being sent in order',
        );
        resolve(false);
      }, timeoutMs);
    });
  }

  /** Stops sending and drops what is left (flush() first to deliver it); later publishes are dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    const undelivered = this.pending.length + (this.current ? 1 : 0);
    if (undelivered > 0) this.log.warn({ undelivered }, 'events: publisher closed with undelivered events');
    this.pending.length = 0;
    this.current = undefined;
    this.settle();
    await this.connection?.close();
  }

  private async drain(): Promise<void> {
    // No await between finding the queue empty and clearing `sending`, so a publish()
    // can never see `sending` set by a loop that has already decided to stop.
    for (let item = this.pending.shift(); item !== undefined && !this.closed; item = this.pending.shift()) {
      this.current = item;
      await this.deliver(item);
      this.current = undefined;
      this.settle();
    }
    this.sending = false;
  }

  /** Sends one event with retries; never throws: failures end in a drop with an error log. */
  private async deliver(item: Queued): Promise<void> {
    const log = this.log.child({ topic: item.topic });
    const connection = this.connection;
    if (!connection) return;
    let request: ForwardRequest;
    try {
      request = forwardRequest(this.namespace, item);
    } catch (err) {
      log.error({ err }, 'events: dropping malformed event');
      return;
    }
    const signal = this.stop.signal;
    for (let attempt = 0; ; attempt++) {
      try {
        if (attempt > 0) await sleep(attempt * this.retryBaseMs, undefined, { signal });
        await connection.forward(request, signal);
        if (attempt > 0) log.info({ attempt }, 'events: event forwarded after retrying');
        return;
      } catch (err) {
        if (signal.aborted) return;
        // containerd's envelope validation is deterministic: retrying would only hold up
        // every later event for the whole backoff.
        const permanent = err instanceof RuntimeError && err.code === Code.INVALID_ARGUMENT;
        if (permanent || attempt >= this.maxRetries) {
          log.error({ err, attempts: attempt + 1 }, 'events: forward failed; dropping event');
          return;
        }
        log.warn({ err, attempt: attempt + 1 }, 'events: forward failed; will retry');
      }
    }
  }

  /** How many events up to sequence number `upTo` are neither delivered nor dropped. */
  private unsettledUpTo(upTo: number): number {
    const inFlight = this.current !== undefined && this.current.seq <= upTo ? 1 : 0;
    return inFlight + this.pending.filter((e) => e.seq <= upTo).length;
  }

  /** Sequence number of the oldest event not yet delivered or dropped. */
  private oldestUnsettled(): number {
    return this.current?.seq ?? this.pending[0]?.seq ?? Number.POSITIVE_INFINITY;
  }

  private settle(): void {
    const oldest = this.oldestUnsettled();
    const done = this.waiters.filter((w) => w.upTo < oldest);
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.upTo >= oldest);
    for (const w of done) w.resolve();
  }
}
