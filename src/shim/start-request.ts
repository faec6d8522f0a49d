// What containerd asks of `start`, from all it passes: flags (every version), environment
// (TTRPC_ADDRESS; 1.7+ adds GRPC_ADDRESS, NAMESPACE, MAX_SHIM_VERSION), and stdin, which
// holds nothing, the runtime options Any (1.6 to 2.2) or a BootstrapParams carrying them
// in an extension (2.3+, which still passes the flags and environment too). Pure: the I/O
// is in main.ts and start.ts. The answer takes the form the caller's input implies.
import { decodeBootstrapParams, encodeBootstrapResult, LOG_LEVEL_DEBUG, type BootstrapParams } from './bootstrap.js';
import type { ShimFlags } from './flags.js';
import { readFields, WireError } from './proto-wire.js';
import { decodeAny, isRuntimeOptions, runtimeOptionsConfigPath, type AnyMessage } from './runtime-options.js';

export type StartInput =
  | { readonly form: 'none' }
  | { readonly form: 'runtime-options'; readonly options: AnyMessage }
  | { readonly form: 'bootstrap'; readonly params: BootstrapParams };

export interface StartRequest {
  /** start's flags, completed from BootstrapParams where a flag was not given. */
  readonly flags: ShimFlags;
  /** The daemon's environment: TTRPC_ADDRESS from BootstrapParams when it is not set. */
  readonly env: NodeJS.ProcessEnv;
  /** runtimeoptions.v1.Options.config_path, from either form of stdin. */
  readonly configPath?: string | undefined;
  readonly form: StartInput['form'];
}

/** The task API this shim serves (containerd.task.v2.Task over ttrpc). */
const TASK_API_VERSION = 2;

/** BootstrapParams fields beyond the two strings it shares with an Any. */
const isBootstrapOnlyField = (n: number): boolean => n >= 3 && n <= 9;

/**
 * Tells a runtime options Any from a BootstrapParams. Both begin with two strings (field
 * 1 and 2), so trying one decoder and falling back, as containerd's shim library does,
 * reads an Any as a BootstrapParams; but an Any has no field 3 to 9, and containerd 2.3
 * always fills BootstrapParams fields 4 to 7 (pkg/shim/util.go Command).
 */
export function classifyStdin(bytes: Uint8Array): StartInput {
  if (bytes.length === 0) return { form: 'none' };
  const size = `${bytes.length} bytes`;
  if (/^\s*[{[]/.test(Buffer.from(bytes.subarray(0, 64)).toString('latin1'))) {
    throw new Error(`stdin (${size}) holds JSON: containerd passes the runtime options as a protobuf Any or, from 2.3, a protobuf BootstrapParams`);
  }
  let fields;
  try {
    fields = readFields(bytes);
  } catch (err) {
    const seen = err instanceof WireError ? err.fieldNumbersSeen : [];
    if (seen.some(isBootstrapOnlyField)) throw new Error(`BootstrapParams on stdin (${size}) is malformed: ${(err as Error).message}`);
    throw new Error(`stdin (${size}) is neither a runtime options Any nor a BootstrapParams: ${(err as Error).message}`);
  }
  if (!fields.some((f) => isBootstrapOnlyField(f.field))) {
    try {
      return { form: 'runtime-options', options: decodeAny(fields) };
    } catch (err) {
      throw new Error(`runtime options on stdin (${size}) are malformed: ${(err as Error).message}`);
    }
  }
  try {
    return { form: 'bootstrap', params: decodeBootstrapParams(fields) };
  } catch (err) {
    throw new Error(`BootstrapParams on stdin (${size}) is malformed: ${(err as Error).message}`);
  }
}

/** containerd before 2.3 never sends BootstrapParams: such a version means the input is not containerd's. */
function checkContainerdVersion(version: string): void {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return; // development builds carry a commit hash
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < 2 || (major === 2 && minor < 3)) {
    throw new Error(`BootstrapParams name containerd ${version}, but containerd sends them only from 2.3 on: unknown input version`);
  }
}

/** A value containerd passes twice (flag or environment, and BootstrapParams) must agree. */
function agree(what: string, given: string, field: string, fromParams: string): string {
  if (given && fromParams && given !== fromParams) throw new Error(`BootstrapParams ${field} "${fromParams}" differs from ${what} "${given}"`);
  return given || fromParams;
}

function configPathOf(options: AnyMessage | undefined, where: string): string | undefined {
  try {
    return runtimeOptionsConfigPath(options);
  } catch (err) {
    throw new Error(`runtime options ${where} are malformed: ${(err as Error).message}`);
  }
}

export function startRequest(flags: ShimFlags, env: NodeJS.ProcessEnv, stdin: Uint8Array): StartRequest {
  const input = classifyStdin(stdin);
  switch (input.form) {
    case 'none':
      return { flags, env, form: input.form };
    case 'runtime-options':
      return { flags, env, configPath: configPathOf(input.options, 'on stdin'), form: input.form };
    case 'bootstrap': {
      const p = input.params;
      checkContainerdVersion(p.containerdVersion);
      const merged: ShimFlags = {
        ...flags,
        id: agree('-id', flags.id, 'instance_id', p.instanceId),
        namespace: agree('-namespace', flags.namespace, 'namespace', p.namespace),
        address: agree('-address', flags.address, 'containerd_grpc_address', p.containerdGrpcAddress),
        publishBinary: agree('-publish-binary', flags.publishBinary, 'containerd_binary', p.containerdBinary),
        debug: flags.debug || p.logLevel <= LOG_LEVEL_DEBUG,
      };
      const ttrpcAddress = agree('TTRPC_ADDRESS', env.TTRPC_ADDRESS ?? '', 'containerd_ttrpc_address', p.containerdTtrpcAddress);
      // socket_dir is not followed: `delete` and sibling shims find sockets by containerd's
      // formula in /run/containerd/s, which is what containerd 2.3 sends when run as root.
      const options = p.extensions.find((e) => isRuntimeOptions(e.typeUrl));
      return {
        flags: merged,
        env: ttrpcAddress ? { ...env, TTRPC_ADDRESS: ttrpcAddress } : env,
        configPath: configPathOf(options, 'in BootstrapParams'),
        form: input.form,
      };
    }
  }
}

/**
 * What start prints: a caller that sent BootstrapParams (containerd 2.3+, whose every
 * release parses a protobuf BootstrapResult first) gets one; every other caller the plain
 * `unix://` address, the one form containerd 1.6 to 2.3 all accept (docs/decisions.md).
 */
export function startReply(form: StartInput['form'], address: string): Uint8Array {
  if (form === 'bootstrap') return encodeBootstrapResult({ version: TASK_API_VERSION, address, protocol: 'ttrpc' });
  return Buffer.from(address, 'utf8');
}
