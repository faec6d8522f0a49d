// The long-running shim daemon: listens on the shim socket, serves the task service, and
// stops on Shutdown (through the service), SIGTERM, SIGINT or a fatal error, releasing
// the service and removing its socket.
import { rm } from 'node:fs/promises';
import type net from 'node:net';
import { resolve } from 'node:path';
import { containerd_task_v2_Task } from '../gen/services.js';
import { settlesWithin } from '../async/deadline.js';
import { TtrpcServer } from '../ttrpc/server.js';
import { fromUnixAddress, shimSocketPath } from './address.js';
import { bundleDir } from './bundle.js';
import type { ShimFlags } from './flags.js';
import type { ShimContext, TaskService, TaskServiceFactory } from './shim-context.js';
import { openShimLog } from './shim-log.js';
import { listenShimSocket } from './socket.js';

const CLOSE_TIMEOUT_MS = 5000;
const DISPOSE_TIMEOUT_MS = 10_000;
/** After a fatal error the orderly stop gets this long before the process exits anyway. */
const FATAL_EXIT_MS = CLOSE_TIMEOUT_MS + DISPOSE_TIMEOUT_MS + 1000;

interface Stop {
  readonly reason: string;
  readonly code: number;
}

export async function serve(flags: ShimFlags, env: NodeJS.ProcessEnv, createTaskService: TaskServiceFactory): Promise<number> {
  const bundle = resolve(bundleDir(flags.bundle));
  const { log, close: closeLog } = openShimLog(bundle, flags.debug, { namespace: flags.namespace, id: flags.id });
  let socketPath: string | undefined;
  let listener: net.Server | undefined;
  let service: TaskService | undefined;

  let requestStop!: (stop: Stop) => void;
  const stopping = new Promise<Stop>((r) => (requestStop = r));
  const onSignal = (sig: NodeJS.Signals): void => requestStop({ reason: sig, code: 0 });
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  // SIGPIPE is already ignored by Node (a vanished peer is an EPIPE error). setsid leaves
  // no terminal, but a stray SIGHUP must not kill a pod's VM owner.
  process.on('SIGHUP', () => log.warn('ignoring SIGHUP'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception: shim daemon stops');
    requestStop({ reason: 'uncaught exception', code: 1 });
    setTimeout(() => process.exit(1), FATAL_EXIT_MS);
  });

  const release = async (): Promise<void> => {
    if (service?.dispose) {
      await settlesWithin(service.dispose(), DISPOSE_TIMEOUT_MS).catch((err: unknown) => log.error({ err }, 'task service dispose failed'));
    }
    // Only a socket this daemon bound: never unlink another shim's.
    if (listener && socketPath) await rm(socketPath, { force: true }).catch(() => undefined);
  };

  try {
    if (!flags.id) throw new Error('shim id cannot be empty');
    socketPath = flags.socket ? fromUnixAddress(flags.socket) : shimSocketPath(flags.address, flags.namespace, flags.id);
    const server = new TtrpcServer({ log });
    const ctx: ShimContext = {
      flags,
      bundle,
      namespace: flags.namespace,
      id: flags.id,
      ttrpcAddress: fromUnixAddress(env.TTRPC_ADDRESS ?? ''),
      log,
      requestShutdown: () => requestStop({ reason: 'shutdown requested', code: 0 }),
    };
    service = createTaskService(ctx);
    void service.shutdown.then(() => requestStop({ reason: 'task service finished', code: 0 }));
    server.register(containerd_task_v2_Task, service.handlers);
    listener = await listenShimSocket(socketPath);
    server.serve(listener);
    log.info({ socket: socketPath, bundle }, 'shim daemon listening');

    const stop = await stopping;
    log.info({ reason: stop.reason }, 'shim daemon stopping');
    // Graceful: the answer to Shutdown goes out before the connection closes.
    await server.close(CLOSE_TIMEOUT_MS);
    await release();
    log.info('shim daemon exited');
    closeLog();
    return stop.code;
  } catch (err) {
    log.error({ err }, 'shim daemon failed to start');
    await release();
    closeLog();
    return 1;
  }
}
