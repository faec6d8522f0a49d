// Decides where each stdio stream of a process goes, from the strings containerd put
// in CreateTaskRequest/ExecProcessRequest. Pure: no file system access.
import { invalidArgument, unimplemented } from '../../errors/index.js';

/** The stdio fields of CreateTaskRequest / ExecProcessRequest; an empty string = not used. */
export interface StdioPaths {
  readonly stdin: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly terminal: boolean;
}

/** Where one output stream goes. */
export type OutputTarget =
  | { readonly kind: 'discard' }
  | { readonly kind: 'fifo'; readonly path: string }
  | { readonly kind: 'append-file'; readonly path: string };

export interface StdioPlan {
  /** The stdin FIFO, or undefined when the process gets no stdin from containerd. */
  readonly stdin: string | undefined;
  readonly stdout: OutputTarget;
  /** Always `discard` with a terminal: a pty has a single output stream. */
  readonly stderr: OutputTarget;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const DISCARD: OutputTarget = { kind: 'discard' };

/**
 * Like containerd's runc shim and Kata's shim, the scheme of stdout (here: of the
 * first non-empty output) picks the I/O kind for the whole process.
 */
export function planStdio(paths: StdioPaths): StdioPlan {
  const stdin = paths.stdin === '' ? undefined : paths.stdin;
  const wantsStderr = !paths.terminal && paths.stderr !== '';
  const lead = paths.stdout !== '' ? paths.stdout : wantsStderr ? paths.stderr : '';
  const scheme = SCHEME.exec(lead)?.[1]?.toLowerCase() ?? '';
  switch (scheme) {
    case '':
    case 'fifo':
      return {
        stdin,
        stdout: paths.stdout === '' ? DISCARD : { kind: 'fifo', path: stripFifoScheme(paths.stdout) },
        stderr: wantsStderr ? { kind: 'fifo', path: stripFifoScheme(paths.stderr) } : DISCARD,
      };
    case 'file': {
      // containerd writes both streams to the file named by stdout (pkg/process/io.go).
      const file: OutputTarget = { kind: 'append-file', path: fileUriPath(lead) };
      return { stdin, stdout: paths.stdout === '' ? DISCARD : file, stderr: wantsStderr ? file : DISCARD };
    }
    case 'binary':
      throw unimplemented(`stdio ${lead}: binary:// logging drivers are not supported yet`);
    default:
      throw invalidArgument(`stdio ${lead}: unknown STDIO scheme ${scheme}`);
  }
}

function stripFifoScheme(path: string): string {
  return path.startsWith('fifo://') ? decodeURIComponent(new URL(path).pathname) : path;
}

function fileUriPath(uri: string): string {
  let path: string;
  try {
    path = decodeURIComponent(new URL(uri).pathname);
  } catch {
    throw invalidArgument(`stdio ${uri}: not a valid file:// URI`);
  }
  if (path === '' || path === '/') throw invalidArgument(`stdio ${uri}: file:// URI names no file`);
  return path;
}
