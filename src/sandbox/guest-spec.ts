// The OCI spec a container gets inside the VM. The host's spec names host things the
// guest does not have: namespace paths (/proc/<pid>/ns/..., the pod's netns), hooks that
// run host binaries, LSM profiles loaded on the host, host CPU numbers. Pure.
import type { LinuxNamespace, Mount, Spec } from '../oci/runtime-spec.js';
import { GUEST_SHARED_DIR } from './shared-fs.js';

export interface GuestSpecInput {
  readonly containerId: string;
  /** The spec's mounts with their sources rewritten into the share (container-mounts.ts). */
  readonly mounts: readonly Mount[];
  /** `[runtime] disable_guest_seccomp`: the guest applies no seccomp profile. */
  readonly disableGuestSeccomp: boolean;
}

export interface GuestSpec {
  readonly spec: Spec;
  /** The container joins the PID namespace of the pod's first container (CRI's POD mode). */
  readonly sandboxPidns: boolean;
}

export function guestSpec(spec: Spec, o: GuestSpecInput): GuestSpec {
  const namespaces = spec.linux?.namespaces ?? [];
  // A PID namespace path names the pod sandbox's (CRI shares it on request); the agent
  // swaps in the guest's own. IPC and UTS are pod-wide in the guest anyway.
  const sandboxPidns = namespaces.some((n) => n.type === 'pid' && !!n.path);
  // Every container shares the VM's network namespace, where the pod's NIC is.
  const guestNamespaces = namespaces.filter((n) => n.type !== 'network').map((n): LinuxNamespace => ({ type: n.type }));
  const { hooks: _hooks, ...rest } = spec;
  const linux = spec.linux ? { ...spec.linux, namespaces: guestNamespaces, mountLabel: undefined } : undefined;
  if (linux?.resources?.cpu) linux.resources = { ...linux.resources, cpu: { ...linux.resources.cpu, cpus: undefined, mems: undefined } };
  if (linux && o.disableGuestSeccomp) delete linux.seccomp;
  return {
    spec: {
      ...rest,
      root: { path: `${GUEST_SHARED_DIR}/${o.containerId}/rootfs`, readonly: spec.root?.readonly },
      mounts: [...o.mounts],
      process: spec.process ? { ...spec.process, apparmorProfile: undefined, selinuxLabel: undefined } : undefined,
      linux,
    },
    sandboxPidns,
  };
}
