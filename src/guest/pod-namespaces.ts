// Which namespaces a container of the pod gets in the guest (Kata's
// update_container_namespaces). Namespace paths in the host's spec name host
// namespaces, which mean nothing here: they are replaced or dropped. Pure.
import type * as oci from '../oci/runtime-spec.js';

/** Where the containers' network namespace comes from. */
export type PodNetwork =
  /** The agent's own (the VM's, where the pod's NIC is): the entry is removed. */
  | { kind: 'agent' }
  /** A namespace standing in for the VM's (test mode --netns): every container joins it. */
  | { kind: 'join'; path: string }
  /** A new, empty one if the spec asks for one (test mode on a host: never the host's). */
  | { kind: 'new' };

export interface PodNamespaces {
  /** The sandbox's persistent IPC and UTS namespaces; undefined: a new one per container. */
  ipc?: string;
  uts?: string;
  /** The PID namespace to join (sandbox_pidns); undefined: a new one. */
  pid?: string;
  network: PodNetwork;
}

/**
 * The spec with the pod's namespaces: IPC and UTS entries point at the sandbox's, the
 * PID entry is replaced (always present, as Kata does), the network entry follows
 * `network`, and any other path is cleared. A container joining the pod's UTS namespace
 * loses spec.hostname: runc 1.1.5 would sethostname() in the shared namespace and rename
 * the whole pod; the namespace already carries CreateSandbox's hostname.
 */
export function podSpec(spec: oci.Spec, ns: PodNamespaces): oci.Spec {
  const entries = spec.linux?.namespaces ?? [];
  const hadNetwork = entries.some((n) => n.type === 'network');
  const out: oci.LinuxNamespace[] = [];
  for (const n of entries) {
    if (n.type === 'pid' || n.type === 'network') continue;
    const path = n.type === 'ipc' ? ns.ipc : n.type === 'uts' ? ns.uts : undefined;
    out.push(path ? { type: n.type, path } : { type: n.type });
  }
  out.push(ns.pid ? { type: 'pid', path: ns.pid } : { type: 'pid' });
  if (ns.network.kind === 'join') out.push({ type: 'network', path: ns.network.path });
  else if (ns.network.kind === 'new' && hadNetwork) out.push({ type: 'network' });
  const joinsUts = !!ns.uts && out.some((n) => n.type === 'uts');
  const { hostname, ...rest } = spec;
  return { ...rest, ...(joinsUts || hostname === undefined ? {} : { hostname }), linux: { ...spec.linux, namespaces: out } };
}
