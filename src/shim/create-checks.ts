// What a VM sandbox cannot honour, refused at Create with a message naming the option,
// which configuration file a sandbox uses (Kata's order), and its warnings, logged once.
import { statSync } from 'node:fs';
import type { containerd } from '../gen/proto.js';
import { applyAnnotations, loadConfig, type KataConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { NamespaceType, Spec } from '../oci/runtime-spec.js';
import { invalidArgument } from '../errors/index.js';
import { namedConfigPath, runtimeOptionsConfigPath } from './runtime-options.js';

/** Namespaces the container must get of its own: sharing the host's is impossible from a VM. */
const REQUIRED: ReadonlyArray<{ type: NamespaceType; option: string; what: string }> = [
  { type: 'network', option: '--net-host', what: 'host networking' },
  { type: 'ipc', option: '--ipc host', what: 'the host IPC namespace' },
  { type: 'pid', option: '--pid host', what: 'the host PID namespace' },
  { type: 'uts', option: '--uts host', what: 'the host UTS namespace' },
];

/** Device and inode of a namespace file: two paths name one namespace when these match. */
function nsIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * A missing namespace entry means "share the host's", which a VM cannot do. Paths are
 * allowed where they name the pod: for a container of a pod (CRI's /proc/<sandbox pid>/ns/...)
 * and the network namespace CRI/CNI made for a pod sandbox. `ownNetns` is the shim's own
 * network namespace, i.e. the host's.
 */
export function refuseHostNamespaces(containerId: string, spec: Spec, podContainer: boolean, ownNetns = '/proc/self/ns/net'): void {
  const namespaces = spec.linux?.namespaces ?? [];
  const present = new Set(namespaces.map((n) => n.type));
  for (const r of REQUIRED) {
    if (!present.has(r.type)) {
      throw invalidArgument(`container ${containerId}: ${r.what} (${r.option}) is not supported by VM sandboxes: the container runs in its own VM`);
    }
  }
  if (!podContainer) {
    for (const ns of namespaces) {
      if (!ns.path) continue;
      if (ns.type !== 'network') {
        throw invalidArgument(`container ${containerId}: joining the existing ${ns.type} namespace ${ns.path} is not supported by VM sandboxes`);
      }
      const id = nsIdentity(ns.path);
      if (id === undefined) throw invalidArgument(`container ${containerId}: network namespace ${ns.path} does not exist`);
      if (id === nsIdentity(ownNetns)) {
        throw invalidArgument(`container ${containerId}: host networking (network namespace ${ns.path} is the host's) is not supported by VM sandboxes`);
      }
    }
  }
  if (!spec.process?.args?.length) throw invalidArgument(`container ${containerId}: the spec has no process args`);
}

/**
 * Kata's lookup: config_path annotation, runtime options' config_path, KATA_CONF_FILE,
 * defaults. Called once per sandbox; with `log`, every configuration warning (unknown
 * keys, clamped values, ignored annotations) is logged there once, at warn.
 */
export async function sandboxConfig(
  spec: Spec,
  options: containerd.task.v2.ICreateTaskRequest['options'],
  log?: Logger,
): Promise<KataConfig> {
  const annotations = spec.annotations ?? {};
  const named = namedConfigPath(annotations, () => {
    if (!options) return undefined;
    try {
      return runtimeOptionsConfigPath({ typeUrl: options.type_url ?? '', value: options.value ?? new Uint8Array(0) });
    } catch (err) {
      throw invalidArgument(`CreateTaskRequest.options (${options.type_url}) are malformed: ${(err as Error).message}`);
    }
  });
  const config = applyAnnotations(await loadConfig({ path: named?.path }), annotations);
  if (log) logConfigWarnings(config, log);
  return config;
}

/** One warn line per distinct warning, naming the configuration file it concerns. */
export function logConfigWarnings(config: KataConfig, log: Logger): void {
  for (const warning of new Set(config.warnings)) log.warn({ configFile: config.source }, `configuration: ${warning}`);
}
