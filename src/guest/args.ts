// Command line of the guest agent. Pure. Without arguments it is the agent of a VM:
// it finds its channel itself and takes its log level from the kernel command line
// (agent.log=debug), as Kata's agent does.
import { DEBUG_CONSOLE_KERNEL_PARAM } from '../agent/debug-console-protocol.js';
import { invalidArgument } from '../errors/index.js';

export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'vsock'; port: number }
  | { kind: 'serial'; name: string }
  | { kind: 'auto' };

export const AGENT_VSOCK_PORT = 1024;
export const AGENT_SERIAL_PORT = 'agent.channel.0';
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export interface AgentArgs {
  listen: ListenAddress;
  stateDir: string;
  sharedDir: string;
  logLevel: string | undefined;
  sysfsRoot: string;
  runc: string;
  cgroupParent: string;
  telnetd: string[];
  /** Where the pod's shared namespaces live (`<dir>/ns`). */
  sandboxDir: string;
  /** Test mode: a network namespace for the network RPCs and the containers. */
  netns: string | undefined;
  /** Serve the debug console (agent.debug_console on the kernel command line, in a VM only). */
  debugConsole: boolean;
}

export const USAGE = `usage: kata-agent [options]
  --listen ADDR         unix:///path | vsock://-1:1024 | serial://agent.channel.0 | auto (default)
                        auto: the virtio-serial port agent.channel.0 if the VM has one, else vsock port 1024
  --state-dir DIR       bundles and runc state (default /run/kata-agent)
  --shared-dir DIR      where container rootfs arrive (default /run/kata-containers/shared/containers)
  --log-level LEVEL     trace|debug|info|warn|error (default: agent.log= on the kernel command line, else info)
  --sysfs DIR           sysfs root for CPU/memory onlining (default /sys)
  --runc PATH           runc binary (default runc)
  --cgroup-parent PATH  parent cgroup of every container (default /kata-agent)
  --telnetd CMD         pty helper for terminal processes (default "busybox telnetd")
  --sandbox-dir DIR     the pod's shared IPC/UTS namespaces go to DIR/ns (default /run/kata-containers/sandbox)
  --netns PATH          test mode: network RPCs act in, and containers join, this network namespace
                        (without it, a unix-socket agent refuses the network RPCs)`;

export function parseListen(value: string): ListenAddress {
  if (value === 'auto') return { kind: 'auto' };
  const m = /^([a-z]+):\/\/(.*)$/.exec(value);
  const [, scheme, rest] = m ?? [];
  if (scheme === 'unix' && rest?.startsWith('/')) return { kind: 'unix', path: rest };
  if (scheme === 'serial' && rest) return { kind: 'serial', name: rest };
  if (scheme === 'vsock' && rest) {
    // vsock://<cid>:<port>; the agent always binds any CID, so only the port matters.
    const port = Number(rest.slice(rest.lastIndexOf(':') + 1));
    if (Number.isInteger(port) && port > 0 && port <= 0xffffffff) return { kind: 'vsock', port };
  }
  throw invalidArgument(`--listen ${JSON.stringify(value)}: expected unix:///path, vsock://-1:PORT, serial://NAME or auto`);
}

export function parseArgs(argv: readonly string[]): AgentArgs {
  const args: AgentArgs = {
    listen: { kind: 'auto' },
    stateDir: '/run/kata-agent',
    sharedDir: '/run/kata-containers/shared/containers',
    logLevel: undefined,
    sysfsRoot: '/sys',
    runc: 'runc',
    cgroupParent: '/kata-agent',
    telnetd: ['busybox', 'telnetd'],
    sandboxDir: '/run/kata-containers/sandbox',
    netns: undefined,
    debugConsole: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw invalidArgument(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--listen':
        args.listen = parseListen(value());
        break;
      case '--state-dir':
        args.stateDir = value();
        break;
      case '--shared-dir':
        args.sharedDir = value();
        break;
      case '--log-level': {
        const level = value();
        if (!LEVELS.has(level)) throw invalidArgument(`--log-level ${level}: expected one of ${[...LEVELS].join(', ')}`);
        args.logLevel = level;
        break;
      }
      case '--sysfs':
        args.sysfsRoot = value();
        break;
      case '--runc':
        args.runc = value();
        break;
      case '--cgroup-parent': {
        const p = value();
        if (!p.startsWith('/') || p === '/') throw invalidArgument(`--cgroup-parent ${p}: expected an absolute path below /`);
        args.cgroupParent = p;
        break;
      }
      case '--telnetd':
        args.telnetd = value().split(/\s+/).filter(Boolean);
        break;
      case '--sandbox-dir':
        args.sandboxDir = absolute(flag, value());
        break;
      case '--netns':
        args.netns = absolute(flag, value());
        break;
      default:
        throw invalidArgument(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return args;
}

function absolute(flag: string, p: string): string {
  if (!p.startsWith('/')) throw invalidArgument(`${flag} ${p}: expected an absolute path`);
  return p;
}

/** agent.log=LEVEL from the kernel command line, if valid. */
export function logLevelFromCmdline(cmdline: string): string | undefined {
  const m = /(?:^|\s)agent\.log=(\S+)/.exec(cmdline);
  const level = m?.[1];
  return level && LEVELS.has(level) ? level : undefined;
}

/** Kata's agent.debug_console: a word of its own (agent.debug_console_vport=N is another parameter). */
export function debugConsoleRequested(cmdline: string): boolean {
  return cmdline.split(/\s+/).includes(DEBUG_CONSOLE_KERNEL_PARAM);
}
