// containerd 2.3's shim bootstrap protocol (containerd.runtime.bootstrap.v1, our copy in
// proto/containerd/runtime/bootstrap/v1/bootstrap.proto): BootstrapParams arrive on
// start's stdin as plain protobuf, a BootstrapResult may go back on stdout. Decoded and
// encoded by hand, so that `start` loads no generated protobuf code.
import { readFields, stringField, varintField, wireString, type WireField } from './proto-wire.js';
import { decodeAny, type AnyMessage } from './runtime-options.js';

/** LogLevel is an open enum: INFO 0, more verbose levels below it. */
export const LOG_LEVEL_DEBUG = -4;

export interface BootstrapParams {
  readonly instanceId: string;
  readonly namespace: string;
  readonly logLevel: number;
  readonly containerdVersion: string;
  readonly containerdTtrpcAddress: string;
  readonly containerdGrpcAddress: string;
  readonly containerdBinary: string;
  /** Each Extension's `value` Any, in order; containerd 2.3 puts the runtime options here. */
  readonly extensions: readonly AnyMessage[];
  readonly socketDir: string | undefined;
}

const STRING_FIELDS = {
  1: 'instanceId',
  2: 'namespace',
  4: 'containerdVersion',
  5: 'containerdTtrpcAddress',
  6: 'containerdGrpcAddress',
  7: 'containerdBinary',
  9: 'socketDir',
} as const;
type StringKey = (typeof STRING_FIELDS)[keyof typeof STRING_FIELDS];

/**
 * From bytes or read fields; throws a plain Error naming the field at fault. A known field
 * with an unexpected wire type is skipped, as Go's decoder treats it as an unknown field.
 */
export function decodeBootstrapParams(message: Uint8Array | readonly WireField[]): BootstrapParams {
  const strings: Partial<Record<StringKey, string>> = {};
  const extensions: AnyMessage[] = [];
  let logLevel = 0;
  for (const f of message instanceof Uint8Array ? readFields(message) : message) {
    if (f.type === 'varint') {
      // int32 enum: the low 32 bits, sign-extended (negative levels come as 10-byte varints).
      if (f.field === 3) logLevel = Number(BigInt.asIntN(32, f.value));
      continue;
    }
    if (f.type !== 'bytes') continue;
    if (f.field === 8) {
      extensions.push(decodeExtension(f, extensions.length + 1));
      continue;
    }
    const key = STRING_FIELDS[f.field as keyof typeof STRING_FIELDS];
    if (key) strings[key] = wireString(f);
  }
  return {
    instanceId: strings.instanceId ?? '',
    namespace: strings.namespace ?? '',
    logLevel,
    containerdVersion: strings.containerdVersion ?? '',
    containerdTtrpcAddress: strings.containerdTtrpcAddress ?? '',
    containerdGrpcAddress: strings.containerdGrpcAddress ?? '',
    containerdBinary: strings.containerdBinary ?? '',
    extensions,
    socketDir: strings.socketDir,
  };
}

/** Extension {value=1 Any}; a missing value is an empty Any, as in Go. */
function decodeExtension(f: WireField & { type: 'bytes' }, n: number): AnyMessage {
  try {
    let any: AnyMessage = { typeUrl: '', value: new Uint8Array(0) };
    for (const g of readFields(f.value)) if (g.field === 1 && g.type === 'bytes') any = decodeAny(g.value);
    return any;
  } catch (err) {
    throw new Error(`extension ${n}: ${(err as Error).message}`);
  }
}

export interface BootstrapResult {
  /** The task API version: 2 is containerd.task.v2.Task, the only one this shim serves. */
  readonly version: number;
  readonly address: string;
  readonly protocol: 'ttrpc';
}

/** BootstrapResult {version=1, address=2, protocol=3}, as Go's proto.Marshal writes it. */
export function encodeBootstrapResult(result: BootstrapResult): Uint8Array {
  return Uint8Array.from([...varintField(1, result.version), ...stringField(2, result.address), ...stringField(3, result.protocol)]);
}
