// kata-monitor's command line, compatible with Kata's (Go flag syntax: -flag value,
// --flag=value). Pure.
import { SANDBOX_STATE_ROOT } from '../sandbox/state-store.js';
import type { ListenAddress } from './server.js';

export const DEFAULT_LISTEN = '127.0.0.1:8090';
export const DEFAULT_SHIM_TIMEOUT_S = 5;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'];

export interface MonitorArgs {
  readonly kind: 'run';
  readonly listen: ListenAddress;
  readonly listenText: string;
  readonly sandboxesRoot: string;
  readonly shimTimeoutMs: number;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** Kata's flag, accepted so its command lines work; pods are found under the sandboxes root instead. */
  readonly runtimeEndpoint?: string;
}

export type ParsedMonitorArgs = MonitorArgs | { readonly kind: 'version' } | { readonly kind: 'help' } | { readonly kind: 'usage-error'; readonly message: string };

export const USAGE = `Usage: kata-monitor [options]

Serves the metrics of every sandbox on this node (Prometheus text) on /metrics,
the running sandboxes on /sandboxes, and an agent's URL on /agent-url?sandbox=<id>.

  --listen-address ADDR    where to listen, host:port; ":8090" means every address (default ${DEFAULT_LISTEN})
  --sandboxes-dir DIR      the sandboxes' state directories, each with a shim-monitor.sock (default ${SANDBOX_STATE_ROOT})
  --scrape-timeout SECONDS how long one shim may take to answer (default ${DEFAULT_SHIM_TIMEOUT_S})
  --log-level LEVEL        trace, debug, info, warn, error, fatal (default info)
  --runtime-endpoint PATH  accepted for Kata compatibility; unused
  --version, version       print the version
  --help                   print this help
`;

/** `host:port`, `:port`, `[v6]:port`. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

export function parseMonitorArgs(argv: readonly string[]): ParsedMonitorArgs {
  const values: Record<string, string> = {};
  const usage = (message: string): ParsedMonitorArgs => ({ kind: 'usage-error', message });
  const names = ['listen-address', 'sandboxes-dir', 'scrape-timeout', 'log-level', 'runtime-endpoint'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === 'version' || arg === '--version' || arg === '-version') return { kind: 'version' };
    if (arg === '--help' || arg === '-help' || arg === '-h' || arg === 'help') return { kind: 'help' };
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !names.includes(m[1] as string)) return usage(`unknown argument ${JSON.stringify(arg)}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined || value === '') return usage(`option --${m[1]} needs a value`);
    values[m[1] as string] = value;
  }
  const listenText = values['listen-address'] ?? DEFAULT_LISTEN;
  const listen = parseListenAddress(listenText);
  if (!listen) return usage(`--listen-address ${JSON.stringify(listenText)}: expected host:port`);
  const timeout = Number(values['scrape-timeout'] ?? DEFAULT_SHIM_TIMEOUT_S);
  if (!(timeout > 0)) return usage(`--scrape-timeout ${JSON.stringify(values['scrape-timeout'])}: expected a positive number of seconds`);
  const level = values['log-level'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) return usage(`--log-level ${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(', ')}`);
  return {
    kind: 'run',
    listen,
    listenText,
    sandboxesRoot: values['sandboxes-dir'] ?? SANDBOX_STATE_ROOT,
    shimTimeoutMs: timeout * 1000,
    // logrus's panic is pino's fatal.
    logLevel: (level === 'panic' ? 'fatal' : level) as MonitorArgs['logLevel'],
    ...(values['runtime-endpoint'] ? { runtimeEndpoint: values['runtime-endpoint'] } : {}),
  };
}
