// What a VM sandbox cannot honour, refused at Create with a message naming the option,
// and which configuration file a sandbox uses (Kata's order).
import { containerd, runtimeoptions } from '../gen/proto.js';
import { applyAnnotations, CONFIG_PATH_ANNOTATION, loadConfig, type KataConfig } from '../config/index.js';
import type { NamespaceType, Spec } from '../oci/runtime-spec.js';
import { invalidArgument } from '../ttrpc/status.js';

/** Namespaces the container must get of its own: sharing the host's is impossible from a VM. */
const REQUIRED: ReadonlyArray<{ type: NamespaceType; option: string; what: string }> = [
  { type: 'network', option: '--net-host', what: 'host networking' },
  { type: 'ipc', option: '--ipc host', what: 'the host IPC namespace' },
  { type: 'pid', option: '--pid host', what: 'the host PID namespace' },
  { type: 'uts', option: '--uts host', what: 'the host UTS namespace' },
];

export function refuseHostNamespaces(containerId: string, spec: Spec): void {
  const present = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));
  for (const r of REQUIRED) {
    if (!present.has(r.type)) {
      throw invalidArgument(`container ${containerId}: ${r.what} (${r.option}) is not supported by VM sandboxes: the container runs in its own VM`);
    }
  }
  if (!spec.process?.args?.length) throw invalidArgument(`container ${containerId}: the spec has no process args`);
}

/** Kata's lookup: config_path annotation, runtime options' config_path, KATA_CONF_FILE, defaults. */
export async function sandboxConfig(spec: Spec, options: containerd.task.v2.ICreateTaskRequest['options']): Promise<KataConfig> {
  const annotations = spec.annotations ?? {};
  let path = annotations[CONFIG_PATH_ANNOTATION];
  if (!path && options?.type_url?.endsWith('runtimeoptions.v1.Options') && options.value) {
    path = runtimeoptions.v1.Options.decode(options.value).configPath || undefined;
  }
  return applyAnnotations(await loadConfig({ path }), annotations);
}
