// Runs ip and tc inside a network namespace. Node cannot call setns(2), so every command
// goes through `nsenter --net=<path>`; only the network namespace changes, nothing else.
import { execFile } from 'node:child_process';
import { statfs } from 'node:fs/promises';
import { Code, RuntimeError, toRuntimeError } from '../errors/index.js';

/** Runs argv inside the netns and resolves with its stdout; throws NetnsCommandError. */
export type NetnsRunner = (netnsPath: string, argv: readonly string[]) => Promise<string>;

/** ip/tc answer in milliseconds; a hung one must not hang the sandbox's Create. */
const COMMAND_TIMEOUT_MS = 10_000;

export class NetnsCommandError extends RuntimeError {
  constructor(
    code: Code,
    readonly netnsPath: string,
    readonly argv: readonly string[],
    readonly stderr: string,
    detail: string,
    cause?: unknown,
  ) {
    super(code, `\`${argv.join(' ')}\` in ${netnsPath}: ${detail}`, { cause });
  }
}

/** A runner whose commands are killed after `timeoutMs`. */
export function netnsRunner(timeoutMs = COMMAND_TIMEOUT_MS): NetnsRunner {
  return (netnsPath, argv) =>
    new Promise((resolve, reject) => {
      execFile(
        'nsenter',
        [`--net=${netnsPath}`, '--', ...argv],
        // A netns with many routes prints more than execFile's 1 MiB default.
        { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          const fail = (code: Code, detail: string) => reject(new NetnsCommandError(code, netnsPath, argv, stderr, detail, err));
          if (e.code === 'ENOENT') return fail(Code.FAILED_PRECONDITION, `nsenter not found: ${e.message}`);
          if (e.killed) return fail(Code.DEADLINE_EXCEEDED, `timed out after ${timeoutMs} ms`);
          fail(Code.INTERNAL, stderr.trim() || e.message);
        },
      );
    });
}

export const runInNetns: NetnsRunner = netnsRunner();

/**
 * What failure messages mean "the thing is already gone": the device, the qdisc, or the
 * namespace itself (CRI may delete the netns before the shim tears down).
 */
const GONE = [
  /Cannot find device/,
  /Device ".*" does not exist/,
  /Invalid handle/, // tc qdisc del: no ingress qdisc on the device
  /RTNETLINK answers: No such file or directory/, // older iproute2, same cases
  /nsenter: cannot open .*: No such file or directory/,
];

export const isAlreadyGone = (err: unknown): boolean => err instanceof NetnsCommandError && GONE.some((re) => re.test(err.stderr));

export const isTimeout = (err: unknown): boolean => err instanceof RuntimeError && err.code === Code.DEADLINE_EXCEEDED;

export type NetnsState = 'present' | 'missing' | 'not-a-namespace';

/** statfs(2) f_type of nsfs, where /var/run/netns/<name> bind mounts point. */
const NSFS_MAGIC = 0x6e736673;

/**
 * Whether a path is a namespace, without entering it. A non-network namespace passes
 * here and is then refused by nsenter ("reassociate to namespace 'ns/net' failed").
 */
export async function probeNetns(path: string): Promise<NetnsState> {
  try {
    return (await statfs(path)).type === NSFS_MAGIC ? 'present' : 'not-a-namespace';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw toRuntimeError(err);
  }
}
