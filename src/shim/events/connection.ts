// One ttrpc connection to containerd's Events service (TTRPC_ADDRESS), opened lazily and
// reopened when it is found closed, as Go's RemoteEventsPublisher does on ErrClosed.
import { containerd_services_events_ttrpc_v1_Events as EventsService } from '../../gen/services.js';
import type { Logger } from '../../log/logger.js';
import { connectUnix, type TtrpcClient } from '../../ttrpc/index.js';
import { fromUnixAddress } from '../address.js';
import type { ForwardRequest } from './envelope.js';

/** containerd's ttrpc namespace interceptor reads this key (namespaces/ttrpc.go). */
const NAMESPACE_METADATA_KEY = 'containerd-namespace-ttrpc';

export interface EventsConnectionOptions {
  /** A socket path; a `unix://` prefix is tolerated. */
  address: string;
  namespace: string;
  /** Per Forward call and per connect attempt. */
  timeoutMs: number;
  log: Logger;
}

export class EventsConnection {
  private readonly path: string;
  private client: TtrpcClient | undefined;

  constructor(private readonly options: EventsConnectionOptions) {
    this.path = fromUnixAddress(options.address);
  }

  /**
   * One Forward. If the connection it used turns out to be closed, reconnects and tries
   * exactly once more; any other failure (including a failed connect) is the caller's to retry.
   */
  async forward(request: ForwardRequest, signal: AbortSignal): Promise<void> {
    const used = await this.connected(signal);
    try {
      await this.call(used, request, signal);
      return;
    } catch (err) {
      if (signal.aborted || !used.isClosed) throw err;
      this.options.log.debug({ err }, 'events: connection to containerd lost; reconnecting');
    }
    await this.call(await this.connected(signal), request, signal);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  private call(client: TtrpcClient, request: ForwardRequest, signal: AbortSignal): Promise<unknown> {
    return client.call(EventsService, 'Forward', request, {
      timeoutMs: this.options.timeoutMs,
      signal,
      metadata: { [NAMESPACE_METADATA_KEY]: this.options.namespace },
    });
  }

  private async connected(signal: AbortSignal): Promise<TtrpcClient> {
    if (this.client && !this.client.isClosed) return this.client;
    this.client = undefined;
    signal.throwIfAborted();
    const client = await connectUnix(this.path, { connectTimeoutMs: this.options.timeoutMs, log: this.options.log });
    if (signal.aborted) {
      void client.close();
      signal.throwIfAborted();
    }
    this.client = client;
    return client;
  }
}
