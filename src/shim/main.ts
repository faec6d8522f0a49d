// The shim executable's entry: parse containerd's flags and run one of start, delete,
// the daemon, -v or -info. Returns the exit code; the caller exits with it.
// Each action loads only its own modules: `start` and `delete` run for every container
// and must not pay for parsing the daemon's code (the task service, the sandbox, the
// generated protobuf code), which only the daemon imports (docs/performance.md).
import { writeSync } from 'node:fs';
import { parseShimFlags, type ShimFlags } from './flags.js';
import type { CleanupHook, TaskServiceFactory } from './shim-context.js';
import { startShim, type StartOptions } from './start.js';
import { SHIM_NAME, versionLine } from './version.js';

export interface MainDeps {
  /** Default: the real task service, loaded by the daemon alone. */
  createTaskService?: TaskServiceFactory;
  /** Default: the real cleanup, loaded by `delete` alone. */
  cleanupAfterCrash?: CleanupHook;
  /** The entry passes its own file as the daemon command, so a wrapper script in argv[1] cannot mislead the re-exec. */
  start: StartOptions;
}

// Synchronous writes: the process may exit right after, and containerd reads until EOF.
const out = (data: string | Uint8Array): void => void writeSync(1, typeof data === 'string' ? Buffer.from(data) : data);
// One line per failure: containerd shows start's whole output as the error.
const err = (line: string): void => void writeSync(2, `${line.replace(/\s*\n\s*/g, ' ')}\n`);

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, overrides: Partial<MainDeps> = {}): Promise<number> {
  const deps: MainDeps = { start: {}, ...overrides };
  let flags: ShimFlags;
  try {
    flags = parseShimFlags(argv);
  } catch (e) {
    err(`${SHIM_NAME}: ${(e as Error).message}`);
    return 2;
  }
  switch (flags.action) {
    case 'version':
      out(`${versionLine()}\n`);
      return 0;
    case 'info':
      // containerd 2.x asks for a RuntimeInfo; 1.6 never does.
      err(`${SHIM_NAME}: -info is not supported`);
      return 1;
    case 'start':
      try {
        out(await startShim(flags, env, deps.start));
        return 0;
      } catch (e) {
        err(`${SHIM_NAME} start: ${(e as Error).message}`);
        return 1;
      }
    case 'delete':
      try {
        out(await runDelete(flags, deps.cleanupAfterCrash));
        return 0;
      } catch (e) {
        err(`${SHIM_NAME} delete: ${(e as Error).message}`);
        return 1;
      }
    case 'serve': {
      const [{ serve }, createTaskService] = await Promise.all([
        import('./serve.js'),
        deps.createTaskService ?? import('./task-service.js').then((m) => m.createTaskService),
      ]);
      return serve(flags, env, createTaskService);
    }
  }
}

async function runDelete(flags: ShimFlags, cleanup: CleanupHook | undefined): Promise<Uint8Array> {
  const [{ deleteShim }, { createLogger }, cleanupAfterCrash] = await Promise.all([
    import('./delete.js'),
    import('../log/logger.js'),
    cleanup ?? import('./cleanup.js').then((m) => m.cleanupAfterCrash),
  ]);
  const log = createLogger({ level: flags.debug ? 'debug' : 'warn', base: { name: SHIM_NAME, id: flags.id } });
  return deleteShim(flags, cleanupAfterCrash, log);
}
