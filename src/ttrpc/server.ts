// ttrpc server: a registry of services plus the set of live connections.
// Transport-agnostic: handleConnection takes any Duplex; listen/serve are unix-socket sugar.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { RegisteredMethod } from './server-call.js';
import { ServerConnection, type ConnectionHost } from './server-connection.js';
import { methodKind, type Handlers, type ServiceDef } from './service.js';
import { alreadyExists } from '../errors/index.js';

export interface ServerOptions {
  log?: Logger;
  /** How long close() waits for in-flight calls before destroying connections; default 10 s. */
  shutdownTimeoutMs?: number;
}

export class TtrpcServer {
  private readonly services = new Map<string, Map<string, RegisteredMethod>>();
  private readonly connections = new Set<ServerConnection>();
  private readonly listeners = new Set<net.Server>();
  private closing = false;
  private readonly host: ConnectionHost;

  constructor(private readonly options: ServerOptions = {}) {
    this.host = {
      services: this.services,
      isClosing: () => this.closing,
      log: options.log,
      released: (conn) => this.connections.delete(conn),
    };
  }

  /**
   * Serves `def` with `handlers`. Methods without a handler answer UNIMPLEMENTED
   * "method <name>", as unregistered methods do in Go. Handlers are called with
   * `this` = `handlers`, so a class instance works.
   */
  register<S extends ServiceDef>(def: S, handlers: Partial<Handlers<S>>): this {
    if (this.services.has(def.name)) throw alreadyExists(`ttrpc: service ${def.name} is already registered`);
    const table = new Map<string, RegisteredMethod>();
    for (const [name, method] of Object.entries(def.methods)) {
      const fn: unknown = (handlers as Record<string, unknown>)[name];
      if (typeof fn === 'function') {
        table.set(name, { def: method, kind: methodKind(method), fn: fn.bind(handlers) as RegisteredMethod['fn'] });
      }
    }
    this.services.set(def.name, table);
    return this;
  }

  /** Serves one established transport until either side closes it. */
  handleConnection(stream: Duplex): ServerConnection {
    const conn = new ServerConnection(stream, this.host);
    if (this.closing) conn.close();
    else this.connections.add(conn);
    return conn;
  }

  /** Serves every connection `server` accepts; close() closes it. */
  serve(server: net.Server): void {
    this.listeners.add(server);
    server.on('connection', (socket: net.Socket) => this.handleConnection(socket));
    server.on('error', (err) => this.options.log?.error({ err }, 'ttrpc: listener error'));
  }

  /** Listens on a unix socket path (which must not exist) and serves it. */
  async listen(path: string): Promise<net.Server> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.serve(server);
    return server;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Graceful stop: no new connections or calls (new calls answer UNAVAILABLE), idle
   * connections close at once, busy ones after their last answer; whatever is left
   * after `timeoutMs` is destroyed (and its handlers' signals abort).
   */
  async close(timeoutMs = this.options.shutdownTimeoutMs ?? 10_000): Promise<void> {
    this.closing = true;
    const listenersClosed = [...this.listeners].map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    this.listeners.clear();
    const conns = [...this.connections];
    for (const conn of conns) conn.drain();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(conns.map((c) => c.closed)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    for (const conn of this.connections) conn.close();
    await Promise.all(listenersClosed);
  }
}
