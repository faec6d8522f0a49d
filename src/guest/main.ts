// Entry of the guest agent (shim/kata-agent.ts calls main): in the VM it is started by
// /usr/sbin/kata-agent-init without arguments; in test mode it runs on a host with
// --listen unix:///path and its own --state-dir.
import { readFileSync } from 'node:fs';
import { createLogger, type Logger } from '../log/logger.js';
import { TtrpcServer } from '../ttrpc/index.js';
import { grpc_AgentService, grpc_Health } from '../gen/services.js';
import { GuestAgent } from './agent.js';
import { agentHandlers, healthHandlers } from './agent-service.js';
import { USAGE, debugConsoleRequested, logLevelFromCmdline, parseArgs, type AgentArgs } from './args.js';
import { startDebugConsole } from './debug-console.js';
import { busyboxRunner } from './network.js';
import { hasBlockingReader } from './serial-channel.js';
import { listen, type Listener } from './transport.js';
import { AGENT_VERSION } from './version.js';

export interface RunningAgent {
  readonly agent: GuestAgent;
  readonly listener: Listener;
  /** Stops listening, removes every container, closes connections. */
  stop(): Promise<void>;
}

export async function startAgent(args: AgentArgs, log: Logger): Promise<RunningAgent> {
  const ownsMachine = args.listen.kind !== 'unix';
  const agent = new GuestAgent({
    stateDir: args.stateDir,
    sharedDir: args.sharedDir,
    sysfsRoot: args.sysfsRoot,
    cgroupParent: args.cgroupParent,
    runcBinary: args.runc,
    telnetd: args.telnetd,
    ownsMachine,
    sandboxDir: args.sandboxDir,
    // A test-mode agent on a host never touches the host's own network.
    netRunner: ownsMachine || args.netns ? busyboxRunner({ netns: args.netns }) : undefined,
    netns: args.netns,
    log,
  });
  const server = new TtrpcServer({ log, shutdownTimeoutMs: 2000 });
  server.register(grpc_AgentService, agentHandlers(agent));
  server.register(grpc_Health, healthHandlers());
  const listener = await listen(args.listen, server, log);
  log.info({ version: AGENT_VERSION, listen: listener.description, stateDir: args.stateDir }, 'kata agent started');
  const debugConsole = args.debugConsole
    ? await startDebugConsole({ telnetd: args.telnetd, shell: '/bin/sh', log: log.child({ component: 'debug-console' }) })
    : undefined;
  let stopping: Promise<void> | undefined;
  return {
    agent,
    listener,
    stop: () =>
      (stopping ??= (async () => {
        // A unix listener's close completes only once its connections are gone, which
        // server.close() brings about: start it first, await it last.
        const listenerClosed = listener.close();
        await debugConsole?.close();
        await agent.destroySandbox('agent stopping');
        await server.close();
        await listenerClosed;
        log.info('kata agent stopped');
      })()),
  };
}

/** Runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let args: AgentArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`kata-agent: ${(err as Error).message}\n`);
    return 2;
  }
  const inVm = args.listen.kind !== 'unix';
  const cmdline = inVm ? readText('/proc/cmdline') : '';
  const level = args.logLevel ?? logLevelFromCmdline(cmdline) ?? 'info';
  args.debugConsole ||= inVm && debugConsoleRequested(cmdline);
  const log = createLogger({ level: level as 'info', base: { name: 'kata-agent' } });
  if (inVm) {
    // Node's default handler would exit through process.exit(), which can hang (exitProcess).
    process.on('uncaughtException', (err) => {
      log.fatal({ err }, 'kata agent crashed');
      exitProcess(1);
    });
  }
  // Serial-port reads and writes block libuv pool threads; keep room for file I/O.
  process.env['UV_THREADPOOL_SIZE'] ??= '8';
  let running: RunningAgent;
  try {
    running = await startAgent(args, log);
  } catch (err) {
    log.fatal({ err }, 'kata agent failed to start');
    return 1;
  }
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'stopping');
      void running.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'unclean stop');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/**
 * Ends the process. With a virtio-serial read blocked in the thread pool, exit() would
 * wait for that thread forever (Node joins pool threads at exit), so the agent kills
 * itself instead: in the VM only the fact that it ended matters (init powers off).
 */
export function exitProcess(code: number): never {
  if (hasBlockingReader()) process.kill(process.pid, 'SIGKILL');
  process.exit(code);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
