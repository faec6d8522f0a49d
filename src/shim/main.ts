// The shim executable's entry: parse containerd's flags and run one of start, delete,
// the daemon, -v or -info. Returns the exit code; the caller exits with it.
import { writeSync } from 'node:fs';
import { createLogger } from '../log/logger.js';
import { cleanupAfterCrash } from './cleanup.js';
import { deleteShim } from './delete.js';
import { parseShimFlags, type ShimFlags } from './flags.js';
import { serve } from './serve.js';
import type { CleanupHook, TaskServiceFactory } from './shim-context.js';
import { startShim, type StartOptions } from './start.js';
import { createTaskService } from './task-service.js';
import { SHIM_NAME, versionLine } from './version.js';

export interface MainDeps {
  createTaskService: TaskServiceFactory;
  cleanupAfterCrash: CleanupHook;
  /** The entry passes its own file as the daemon command, so a wrapper script in argv[1] cannot mislead the re-exec. */
  start: StartOptions;
}

const DEFAULT_DEPS: MainDeps = { createTaskService, cleanupAfterCrash, start: {} };

// Synchronous writes: the process may exit right after, and containerd reads until EOF.
const out = (data: string | Uint8Array): void => void writeSync(1, typeof data === 'string' ? Buffer.from(data) : data);
// One line per failure: containerd shows start's whole output as the error.
const err = (line: string): void => void writeSync(2, `${line.replace(/\s*\n\s*/g, ' ')}\n`);

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, overrides: Partial<MainDeps> = {}): Promise<number> {
  const deps: MainDeps = { ...DEFAULT_DEPS, ...overrides };
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
    case 'delete': {
      const log = createLogger({ level: flags.debug ? 'debug' : 'warn', base: { name: SHIM_NAME, id: flags.id } });
      try {
        out(await deleteShim(flags, deps.cleanupAfterCrash, log));
        return 0;
      } catch (e) {
        err(`${SHIM_NAME} delete: ${(e as Error).message}`);
        return 1;
      }
    }
    case 'serve':
      return serve(flags, env, deps.createTaskService);
  }
}
