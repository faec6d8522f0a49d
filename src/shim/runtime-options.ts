// The runtime options containerd hands a shim, as a google.protobuf.Any {type_url=1,
// value=2}: for a runtime with an `options` table, CRI's runtimeoptions.v1.Options
// {type_url=1, config_path=2, config_body=3} (containerd 1.6: pkg/cri/server/helpers.go;
// 2.x: internal/cri/config/config.go). `start` gets them on stdin (bare, or in a 2.3
// BootstrapParams extension), the daemon in CreateTaskRequest.options. Read by hand so
// that `start` loads no generated protobuf code.
import { CONFIG_PATH_ANNOTATION } from '../config/annotation-keys.js';
import { readFields, wireString, type WireField } from './proto-wire.js';

export const RUNTIME_OPTIONS_TYPE = 'runtimeoptions.v1.Options';

export interface AnyMessage {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

type BytesField = WireField & { type: 'bytes' };
const isBytes = (f: WireField): f is BytesField => f.type === 'bytes';

/** A google.protobuf.Any, from bytes or read fields; unknown fields and fields of another wire type are skipped, as Go skips them. */
export function decodeAny(message: Uint8Array | readonly WireField[]): AnyMessage {
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  for (const f of message instanceof Uint8Array ? readFields(message) : message) {
    if (!isBytes(f)) continue;
    if (f.field === 1) typeUrl = wireString(f);
    else if (f.field === 2) value = f.value;
  }
  return { typeUrl, value };
}

/** containerd 1.6 and 2.x send the bare full name; a `…/name` URL names the same type. */
export const isRuntimeOptions = (typeUrl: string | null | undefined): boolean =>
  typeUrl === RUNTIME_OPTIONS_TYPE || (typeUrl ?? '').endsWith(`/${RUNTIME_OPTIONS_TYPE}`);

/** Options.config_path when `options` are runtimeoptions.v1.Options and name one; else undefined. */
export function runtimeOptionsConfigPath(options: { readonly typeUrl: string; readonly value: Uint8Array } | undefined): string | undefined {
  if (!options || !isRuntimeOptions(options.typeUrl)) return undefined;
  let path = '';
  for (const f of readFields(options.value)) if (f.field === 2 && isBytes(f)) path = wireString(f);
  return path || undefined;
}

/**
 * The configuration file a sandbox names, in Kata's order: the config_path annotation, then
 * the runtime options' config_path, read only when the annotation names none (reading may
 * throw). Undefined when neither does: KATA_CONF_FILE and the defaults decide (loadConfig).
 */
export function namedConfigPath(
  annotations: Readonly<Record<string, string>> | undefined,
  optionsPath: () => string | undefined,
): { readonly path: string; readonly from: 'annotation' | 'options' } | undefined {
  const annotated = annotations?.[CONFIG_PATH_ANNOTATION];
  if (annotated) return { path: annotated, from: 'annotation' };
  const path = optionsPath();
  return path ? { path, from: 'options' } : undefined;
}
