// Everything the CLI touches outside itself, so main() runs in tests without a process.
import { DEFAULT_CONFIG_PATHS } from '../config/index.js';
import type { TerminalIo } from './exec.js';
import type { HostProbes } from './host-probes.js';
import { realHostProbes } from './real-probes.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Only KATA_CONF_FILE is read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly probes: HostProbes;
  /** Kata's default lookup list unless a test points elsewhere. */
  readonly defaultConfigPaths: readonly string[];
  /** Reported by `env` as Runtime.Path. */
  readonly runtimePath: string;
  /** Where sandboxes' management sockets live (/run/vc/sbs unless a test points elsewhere). */
  readonly sandboxStateRoot?: string;
  /** stdin/stdout as streams, for `exec`. */
  readonly terminal?: TerminalIo;
}

export function processCliIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    probes: realHostProbes,
    defaultConfigPaths: DEFAULT_CONFIG_PATHS,
    runtimePath: process.argv[1] ?? process.execPath,
    terminal: { stdin: process.stdin, stdout: process.stdout, term: process.env.TERM },
  };
}
