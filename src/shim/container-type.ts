// Kata's pod grouping (pkg/oci/utils.go): the annotations containerd, CRI-O and dockershim
// put on a spec say whether it is a pod sandbox, a container of a pod, or a lone container.
import { invalidArgument } from '../errors/index.js';

export type ContainerKind =
  | { readonly kind: 'sandbox' }
  | { readonly kind: 'single' }
  | { readonly kind: 'pod-container'; readonly sandboxId: string };

/** Checked in this order; the first key present decides, as in Kata. */
const TYPE_KEYS: ReadonlyArray<{ key: string; sandbox: string; container: string }> = [
  { key: 'io.kubernetes.cri.container-type', sandbox: 'sandbox', container: 'container' },
  { key: 'io.kubernetes.cri-o.ContainerType', sandbox: 'sandbox', container: 'container' },
  { key: 'io.kubernetes.docker.type', sandbox: 'podsandbox', container: 'container' },
];

const SANDBOX_ID_KEYS = ['io.kubernetes.cri.sandbox-id', 'io.kubernetes.cri-o.SandboxID', 'io.kubernetes.sandbox.id'];

export function containerKind(annotations: Readonly<Record<string, string>> = {}): ContainerKind {
  const found = TYPE_KEYS.find((t) => Object.hasOwn(annotations, t.key));
  if (!found) return { kind: 'single' };
  const value = annotations[found.key];
  if (value === found.sandbox) return { kind: 'sandbox' };
  if (value !== found.container) throw invalidArgument(`unknown container type "${value}" in annotation ${found.key}`);
  const idKey = SANDBOX_ID_KEYS.find((k) => Object.hasOwn(annotations, k));
  const sandboxId = idKey === undefined ? '' : (annotations[idKey] ?? '');
  if (!sandboxId) throw invalidArgument(`container of a pod without a sandbox id (none of ${SANDBOX_ID_KEYS.join(', ')})`);
  return { kind: 'pod-container', sandboxId };
}
