// The shim executable's entry: parse containerd's flags and run one of start, delete,
// the daemon, -v or -info. Returns the exit code; the caller exits with it.
// Each action loads only its own modules: `start` and `delete` run for every container
// and must not pay for parsing the daemon's code (the task service, the sandbox, the
// generated protobuf code), which only the daemon imports (docs/performance.md).
import { fstatSync, readSync, writeSync } from 'node:fs';
import { parseShimFlags, type ShimFlags } from './flags.js';
import { startReply, startRequest } from './start-request.js';
import { startShim, type StartOptions } from './start.js';
import { SHIM_NAME, versionLine } from './version.js';

// Synchronous writes: the process may exit right after, and containerd reads until EOF.
const out = (data: string | Uint8Array): void => void writeSync(1, typeof data === 'string' ? Buffer.from(data) : data);
// One line per failure: containerd shows start's whole output as the error.
const err = (line: string): void => void writeSync(2, `${line.replace(/\s*\n\s*/g, ' ')}\n`);

/** `start`: the entry passes its own file as the daemon command, so a wrapper script in argv[1] cannot mislead the re-exec. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, start: StartOptions): Promise<number> {
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
        // Read and understood before anything is bound or written: bad input leaves nothing behind.
        const req = startRequest(flags, env, readStdin());
        out(startReply(req.form, await startShim(req, start)));
        return 0;
      } catch (e) {
        err(`${SHIM_NAME} start: ${(e as Error).message}`);
        return 1;
      }
    case 'delete':
      try {
        out(await runDelete(flags));
        return 0;
      } catch (e) {
        err(`${SHIM_NAME} delete: ${(e as Error).message}`);
        return 1;
      }
    case 'serve': {
      const [{ serve }, { createTaskService }] = await Promise.all([import('./serve.js'), import('./task-service.js')]);
      return serve(flags, env, createTaskService);
    }
  }
}

/** containerd writes at most a few hundred bytes; its own shims stop reading at 10 MiB. */
const STDIN_LIMIT = 10 << 20;

/**
 * fd 0 to its end, synchronously (no stream machinery for a few bytes). containerd gives
 * a pipe it closes after writing, or /dev/null; a terminal (start run by hand) is not read:
 * no character device is (node:tty's isatty would cost every start loading that module).
 */
function readStdin(): Uint8Array {
  if (isCharacterDevice(0)) return new Uint8Array(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // A non-blocking pipe with nothing in it yet: wait for the writer.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      if (code === 'EBADF') break; // no stdin at all
      throw new Error(`cannot read stdin: ${(e as Error).message}`);
    }
    if (n === 0) break;
    total += n;
    if (total > STDIN_LIMIT) throw new Error(`stdin holds more than ${STDIN_LIMIT} bytes: not what containerd passes`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/** False for a closed fd too: the read below then finds no stdin at all. */
function isCharacterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false;
  }
}

async function runDelete(flags: ShimFlags): Promise<Uint8Array> {
  const [{ deleteShim }, { createLogger }, { cleanupAfterCrash }] = await Promise.all([import('./delete.js'), import('../log/logger.js'), import('./cleanup.js')]);
  const log = createLogger({ level: flags.debug ? 'debug' : 'warn', base: { name: SHIM_NAME, id: flags.id } });
  return deleteShim(flags, cleanupAfterCrash, log);
}
