// The shim's command line as containerd passes it: Go `flag` syntax, every flag
// before the action (`start`, `delete`, or none for the daemon).
import { Code, RuntimeError } from '../errors/index.js';

export type ShimAction = 'start' | 'delete' | 'serve' | 'version' | 'info';

export interface ShimFlags {
  readonly action: ShimAction;
  readonly debug: boolean;
  readonly namespace: string;
  readonly id: string;
  readonly socket: string;
  readonly bundle: string;
  readonly address: string;
  readonly publishBinary: string;
}

const STRING_FLAGS = { namespace: 'namespace', id: 'id', socket: 'socket', bundle: 'bundle', address: 'address', 'publish-binary': 'publishBinary', 'debug-socket': '' } as const;
const BOOL_FLAGS = new Set(['debug', 'v', 'version', 'info']);

export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const strings: Record<string, string> = {};
  const bools = new Set<string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (BOOL_FLAGS.has(name)) {
      const v = eq >= 0 ? body.slice(eq + 1) : 'true';
      if (!['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(v)) {
        throw usage(`invalid boolean value "${v}" for -${name}`);
      }
      if (/^(true|1|t)$/i.test(v)) bools.add(name);
      else bools.delete(name);
    } else if (name in STRING_FLAGS) {
      let v: string | undefined;
      if (eq >= 0) v = body.slice(eq + 1);
      else v = argv[++i];
      if (v === undefined) throw usage(`flag needs an argument: -${name}`);
      strings[name] = v;
    } else {
      throw usage(`flag provided but not defined: -${name}`);
    }
  }
  const positional = argv.slice(i);
  let action: ShimAction;
  if (bools.has('v') || bools.has('version')) action = 'version';
  else if (bools.has('info')) action = 'info';
  else if (positional.length === 0) action = 'serve';
  else if (positional[0] === 'start' || positional[0] === 'delete') action = positional[0];
  else throw usage(`unknown action "${positional[0]}" (expected start or delete)`);

  const flags: ShimFlags = {
    action,
    debug: bools.has('debug'),
    namespace: strings.namespace ?? '',
    id: strings.id ?? '',
    socket: strings.socket ?? '',
    bundle: strings.bundle ?? '',
    address: strings.address ?? '',
    publishBinary: strings['publish-binary'] ?? '',
  };
  if ((action === 'start' || action === 'delete' || action === 'serve') && !flags.namespace) {
    throw usage('shim namespace cannot be empty');
  }
  if ((action === 'start' || action === 'delete') && !flags.id) throw usage('shim id cannot be empty');
  return flags;
}

function usage(msg: string): RuntimeError {
  return new RuntimeError(Code.INVALID_ARGUMENT, msg);
}
