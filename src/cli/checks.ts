// `kata-runtime check`: can a sandbox start with this configuration on this host?
// Each check turns probe answers into one line; `fail` means a sandbox cannot start,
// `warn` means it can, but not the way a production KVM host would run it.
import { describeKvm, kvmUsable, resolveAccel, type KataConfig } from '../config/index.js';
import type { FileStatus, HostProbes } from './host-probes.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

const result = (name: string, status: CheckStatus, detail: string): CheckResult => ({ name, status, detail });

export async function runChecks(config: KataConfig, probes: HostProbes): Promise<CheckResult[]> {
  const h = config.hypervisor;
  return [
    ...config.warnings.map((w) => result('config', 'warn', w)),
    await checkHypervisor(h.path, probes),
    await checkAccel(config, probes),
    await checkVsock(probes),
    await checkVirtiofsd(config, probes),
    await checkFile('kernel', h.kernel, probes, 'fail'),
    ...(await checkGuestRoot(config, probes)),
  ];
}

export function sandboxCanStart(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== 'fail');
}

async function checkHypervisor(path: string, probes: HostProbes): Promise<CheckResult> {
  const st = await probes.file(path);
  if (!st.exists) return result('qemu', 'fail', `${path}: not found`);
  if (!st.executable) return result('qemu', 'fail', `${path}: not an executable file`);
  const v = await probes.commandVersion(path);
  return v.ok ? result('qemu', 'ok', `${path}: ${v.version}`) : result('qemu', 'fail', v.error);
}

async function checkAccel(config: KataConfig, probes: HostProbes): Promise<CheckResult> {
  const kvm = await probes.kvm();
  const configured = config.hypervisor.accel;
  const used = resolveAccel(configured, kvm);
  const why = describeKvm(kvm);
  if (used === 'kvm') {
    return kvmUsable(kvm)
      ? result('accel', 'ok', `kvm available: ${why}; accel = "${configured}" uses kvm`)
      : result('accel', 'fail', `accel = "kvm" but ${why}; set accel = "auto" or "tcg"`);
  }
  const tcg = `accel = "${configured}" uses tcg (software emulation, much slower than kvm)`;
  return kvmUsable(kvm)
    ? result('accel', 'ok', `kvm available but ${tcg}`)
    : result('accel', configured === 'tcg' ? 'ok' : 'warn', `kvm not usable: ${why}; ${tcg}`);
}

async function checkVsock(probes: HostProbes): Promise<CheckResult> {
  return (await probes.vhostVsock())
    ? result('vsock', 'ok', '/dev/vhost-vsock present: the agent can be reached over vsock')
    : result('vsock', 'warn', '/dev/vhost-vsock missing: virtio-serial fallback in use for the agent channel');
}

async function checkVirtiofsd(config: KataConfig, probes: HostProbes): Promise<CheckResult> {
  const { sharedFs, virtioFsDaemon: path } = config.hypervisor;
  if (sharedFs !== 'virtio-fs' && sharedFs !== 'virtio-fs-nydus') {
    return result('virtiofsd', 'ok', `not needed (shared_fs = "${sharedFs}")`);
  }
  const st = await probes.file(path);
  if (!st.exists) return result('virtiofsd', 'fail', `${path}: not found (needed for shared_fs = "${sharedFs}")`);
  if (!st.executable) return result('virtiofsd', 'fail', `${path}: not an executable file`);
  return result('virtiofsd', 'ok', `${path}: executable`);
}

async function checkFile(name: string, path: string, probes: HostProbes, missing: CheckStatus): Promise<CheckResult> {
  const problem = fileProblem(await probes.file(path));
  return problem === undefined ? result(name, 'ok', `${path}: readable`) : result(name, missing, `${path}: ${problem}`);
}

function fileProblem(st: FileStatus): string | undefined {
  if (!st.exists) return 'not found';
  if (!st.isFile) return 'not a regular file';
  if (!st.readable) return 'not readable';
  return undefined;
}

/** The guest needs a root: a missing initrd or image is fatal only if nothing is left. */
async function checkGuestRoot(config: KataConfig, probes: HostProbes): Promise<CheckResult[]> {
  const roots = [
    { name: 'initrd', path: config.hypervisor.initrd },
    { name: 'image', path: config.hypervisor.image },
  ].filter((r) => r.path !== '');
  const found = await Promise.all(roots.map(async (r) => ({ ...r, problem: fileProblem(await probes.file(r.path)) })));
  const anyReadable = found.some((r) => r.problem === undefined);
  return found.map((r) =>
    r.problem === undefined
      ? result(r.name, 'ok', `${r.path}: readable`)
      : result(r.name, anyReadable ? 'warn' : 'fail', `${r.path}: ${r.problem}`),
  );
}
