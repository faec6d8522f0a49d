// What the agent refuses before anything touches runc, each with the reason the user
// needs (INVALID_ARGUMENT). Pure; the rootfs existence check is in container-bundle.ts.
import type * as oci from '../oci/runtime-spec.js';
import { invalidArgument } from '../errors/index.js';

const NAMESPACES: ReadonlySet<string> = new Set(['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time']);

/** Checks a container's spec (converted from grpc.Spec) and returns its process. */
export function checkContainerSpec(id: string, spec: oci.Spec): oci.Process {
  const what = `container ${id}`;
  if (!spec.root || !spec.root.path) throw invalidArgument(`${what}: the OCI spec has no root path`);
  if (!spec.process) throw invalidArgument(`${what}: the OCI spec has no process`);
  checkProcess(what, spec.process);
  // Paths are accepted: they name host namespaces, which pod-namespaces.ts replaces or drops.
  for (const ns of spec.linux?.namespaces ?? []) {
    if (!NAMESPACES.has(ns.type)) throw invalidArgument(`${what}: unknown namespace type ${JSON.stringify(ns.type)}`);
  }
  for (const m of spec.mounts ?? []) {
    if (!m.destination) throw invalidArgument(`${what}: a mount has no destination`);
  }
  return spec.process;
}

/** Checks an exec'd process (ExecProcess). */
export function checkExecProcess(id: string, execId: string, process: oci.Process | undefined): oci.Process {
  const what = `container ${id} exec ${execId}`;
  if (!process) throw invalidArgument(`${what}: no process given`);
  checkProcess(what, process);
  return process;
}

function checkProcess(what: string, p: oci.Process): void {
  if (!p.args || p.args.length === 0 || !p.args[0]) throw invalidArgument(`${what}: process args are empty`);
  if (!p.cwd.startsWith('/')) throw invalidArgument(`${what}: process cwd ${JSON.stringify(p.cwd)} is not an absolute path`);
  for (const e of p.env ?? []) {
    if (!e.includes('=')) throw invalidArgument(`${what}: environment entry ${JSON.stringify(e)} is not KEY=VALUE`);
  }
}
