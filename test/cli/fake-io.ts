// An in-memory CliIo with scripted host probes.
import type { KvmStatus } from '../../src/config/index.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import type { FileStatus, HostProbes, HostReport, VersionResult } from '../../src/cli/host-probes.js';

export const PRESENT: FileStatus = { exists: true, isFile: true, readable: true, executable: true };
export const MISSING: FileStatus = { exists: false, isFile: false, readable: false, executable: false };

export const KVM_OK: KvmStatus = { devicePresent: true, openable: true, hardwareVirt: true };
export const KVM_PARAVIRT: KvmStatus = { devicePresent: true, openable: true, hardwareVirt: false };
export const NO_KVM: KvmStatus = { devicePresent: false, openable: false, hardwareVirt: false };

export const HOST: HostReport = {
  cpus: 2,
  memoryMiB: 4096,
  memoryAvailableMiB: 3000,
  kernel: '6.1.0-test',
  architecture: 'amd64',
};

export interface FakeProbeOptions {
  /** Paths not listed here are present. */
  files?: Record<string, FileStatus>;
  kvm?: KvmStatus;
  vhostVsock?: boolean;
  version?: VersionResult;
}

export function fakeProbes(o: FakeProbeOptions = {}): HostProbes {
  return {
    file: async (path) => o.files?.[path] ?? PRESENT,
    commandVersion: async () => o.version ?? { ok: true, version: 'QEMU emulator version 7.2.22' },
    kvm: async () => o.kvm ?? KVM_OK,
    vhostVsock: async () => o.vhostVsock ?? true,
    host: async () => HOST,
  };
}

export interface FakeIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
}

export function fakeIo(opts: { probes?: HostProbes; env?: Record<string, string>; defaultConfigPaths?: string[] } = {}): FakeIo {
  let out = '';
  let err = '';
  return {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env: opts.env ?? {},
    probes: opts.probes ?? fakeProbes(),
    defaultConfigPaths: opts.defaultConfigPaths ?? ['/nonexistent/etc/configuration.toml', '/nonexistent/share/configuration.toml'],
    runtimePath: '/usr/bin/kata-runtime',
    out: () => out,
    err: () => err,
  };
}
