// What `kata-runtime check` and `env` ask of the host. The checks are pure functions of
// these answers; tests pass fakes, real-probes.ts asks the machine.
import type { HostFacts, KvmStatus } from '../config/index.js';

export interface FileStatus {
  readonly exists: boolean;
  readonly isFile: boolean;
  readonly readable: boolean;
  readonly executable: boolean;
}

export type VersionResult = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly error: string };

export interface HostReport extends HostFacts {
  /** Host kernel release (uname -r). */
  readonly kernel: string;
  /** Kata's (Go's) architecture name, e.g. amd64. */
  readonly architecture: string;
  readonly memoryAvailableMiB: number;
}

export interface HostProbes {
  file(path: string): Promise<FileStatus>;
  /** Runs `<path> --version` with a timeout and returns its first output line. */
  commandVersion(path: string): Promise<VersionResult>;
  kvm(): Promise<KvmStatus>;
  /** /dev/vhost-vsock exists (the agent can use vsock instead of virtio-serial). */
  vhostVsock(): Promise<boolean>;
  host(): Promise<HostReport>;
}
