// Test doubles for the shim's event edge: a containerd Events service of our own (ttrpc,
// unix socket) whose answers each test scripts, and a pino logger that keeps its lines.
import net from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { containerd as pb } from '../../src/gen/proto.js';
import { containerd_services_events_ttrpc_v1_Events as EventsService } from '../../src/gen/services.js';
import { TtrpcServer, type CallContext } from '../../src/ttrpc/index.js';
import { EventLog } from '../support/event-log.js';

export type Envelope = pb.services.events.ttrpc.v1.Envelope;

export interface ForwardCall {
  /** 0-based over every Forward call the server received. */
  index: number;
  envelope: Envelope;
  /** The containerd-namespace-ttrpc metadata value. */
  namespaceMetadata: string[];
  deadline: number | undefined;
  at: number;
  connection: number;
}

/** How to answer one call: an error to return, drop the connection, or hang until cancelled. */
export type Reaction = 'ok' | 'drop' | 'hang' | Error;

export interface FakeEvents {
  readonly path: string;
  /** Every call, in arrival order. */
  readonly calls: ForwardCall[];
  /** The calls answered with success. */
  readonly delivered: EventLog<ForwardCall>;
  /** Decides each call's answer (may wait); default 'ok'. */
  react: (call: ForwardCall) => Reaction | Promise<Reaction>;
  connections(): number;
  close(): Promise<void>;
}

export async function startFakeEvents(dir: string, name = 'events.sock'): Promise<FakeEvents> {
  const sockets = new Set<net.Socket>();
  const socketIds = new Map<net.Socket, number>();
  let connectionCount = 0;
  const path = join(dir, name);
  const server = new TtrpcServer({ shutdownTimeoutMs: 100 });
  const listener = net.createServer();
  listener.on('connection', (s) => {
    sockets.add(s);
    socketIds.set(s, ++connectionCount);
    s.on('close', () => sockets.delete(s));
  });
  const fake: FakeEvents = {
    path,
    calls: [],
    delivered: new EventLog<ForwardCall>(),
    react: () => 'ok',
    connections: () => connectionCount,
    async close() {
      for (const s of sockets) s.destroy();
      await server.close(100);
    },
  };
  server.register(EventsService, {
    async Forward(req, ctx: CallContext) {
      const call: ForwardCall = {
        index: fake.calls.length,
        envelope: req.envelope as Envelope,
        namespaceMetadata: [...ctx.metadata.get('containerd-namespace-ttrpc')],
        deadline: ctx.deadline,
        at: performance.now(),
        connection: connectionCount,
      };
      fake.calls.push(call);
      const reaction = await fake.react(call);
      if (reaction === 'drop') {
        for (const s of sockets) s.destroy();
        throw new Error('connection dropped by the test');
      }
      if (reaction === 'hang') {
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      }
      if (reaction instanceof Error) throw reaction;
      fake.delivered.push(call);
      return {};
    },
  });
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  server.serve(listener);
  return fake;
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A debug-level logger whose JSON lines are kept in `lines`. */
export function memoryLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const log = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, sink);
  return { log, lines };
}
