// Which pod a sandbox's metrics belong to. kata-monitor adds `sandbox_id`, and for a pod
// that came from CRI `cri_uid`, `cri_name` and `cri_namespace` (Kata's monitor asks the CRI
// runtime for them; here the shim serves them, read from the annotations containerd's CRI
// plugin puts on the sandbox container's spec). Pure.

export const CRI_SANDBOX_UID = 'io.kubernetes.cri.sandbox-uid';
export const CRI_SANDBOX_NAME = 'io.kubernetes.cri.sandbox-name';
export const CRI_SANDBOX_NAMESPACE = 'io.kubernetes.cri.sandbox-namespace';

export interface CriPodMetadata {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
}

/** What a shim's /sandbox-metadata answers. */
export interface SandboxMetadata {
  readonly sandboxId: string;
  /** Absent when the pod did not come from CRI (e.g. `ctr run`). */
  readonly cri?: CriPodMetadata;
}

/** The CRI pod of a sandbox container's annotations, when any of the three is set. */
export function criPodMetadata(annotations: Readonly<Record<string, string>> = {}): CriPodMetadata | undefined {
  const uid = annotations[CRI_SANDBOX_UID] ?? '';
  const name = annotations[CRI_SANDBOX_NAME] ?? '';
  const namespace = annotations[CRI_SANDBOX_NAMESPACE] ?? '';
  return uid || name || namespace ? { uid, name, namespace } : undefined;
}

/** The labels kata-monitor adds to every sample of the sandbox. */
export function podLabels(m: SandboxMetadata): Record<string, string> {
  return { sandbox_id: m.sandboxId, ...(m.cri ? { cri_uid: m.cri.uid, cri_name: m.cri.name, cri_namespace: m.cri.namespace } : {}) };
}

/** A /sandbox-metadata body, checked (it comes from another process). */
export function parseSandboxMetadata(json: string): SandboxMetadata {
  const v = JSON.parse(json) as Partial<SandboxMetadata> | null;
  if (!v || typeof v.sandboxId !== 'string' || v.sandboxId === '') throw new Error('sandbox metadata without a sandboxId');
  const c = v.cri;
  if (c === undefined) return { sandboxId: v.sandboxId };
  if (typeof c !== 'object' || c === null || ![c.uid, c.name, c.namespace].every((x) => typeof x === 'string')) throw new Error('sandbox metadata: cri must have string uid, name and namespace');
  return { sandboxId: v.sandboxId, cri: { uid: c.uid, name: c.name, namespace: c.namespace } };
}
