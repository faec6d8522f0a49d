// A small typed CRI (runtime.v1) client for tests, over containerd's gRPC unix socket.
// Messages use the proto's own field names (proto-loader `keepCase: true`), so a request
// reads like the proto and like containerd's JSON: `{ pod_sandbox_id, config: { metadata } }`.
// Loaded with `defaults: true`: every scalar of a response is present (0, '', false),
// absent sub-messages are null, repeated fields [] and maps {}. int64/uint64 are JS numbers
// (`longs: Number`): exact up to 2^53, so nanosecond timestamps (~1.7e18) lose their last
// ~8 bits; enums are their names (`enums: String`); bytes are Buffers.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('../../proto/k8s/cri/runtime/v1/api.proto', import.meta.url));
const DEFAULT_TIMEOUT_MS = 120_000;

// ---- messages as responses carry them (see the header for the encoding rules)

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type ProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';
type Labels = Record<string, string>;

export interface Int64Value { value: number }
export interface UInt64Value { value: number }
export interface KeyValue { key: string; value: string }
export interface NamespaceOption { network: NamespaceMode; pid: NamespaceMode; ipc: NamespaceMode; target_id: string }
export interface SecurityProfile { profile_type: ProfileType; localhost_ref: string }
export interface HugepageLimit { page_size: string; limit: number }
export interface LinuxContainerResources {
  cpu_period: number;
  cpu_quota: number;
  cpu_shares: number;
  memory_limit_in_bytes: number;
  oom_score_adj: number;
  cpuset_cpus: string;
  cpuset_mems: string;
  hugepage_limits: HugepageLimit[];
  unified: Labels;
  memory_swap_limit_in_bytes: number;
}
export interface Mount { container_path: string; host_path: string; readonly: boolean; selinux_relabel: boolean; propagation: MountPropagation }
export interface Device { container_path: string; host_path: string; permissions: string }
export interface ImageSpec { image: string; annotations: Labels }

export interface DNSConfig { servers: string[]; searches: string[]; options: string[] }
export interface PortMapping { protocol: Protocol; container_port: number; host_port: number; host_ip: string }
export interface LinuxSandboxSecurityContext {
  namespace_options: NamespaceOption | null;
  run_as_user: Int64Value | null;
  run_as_group: Int64Value | null;
  readonly_rootfs: boolean;
  supplemental_groups: number[];
  privileged: boolean;
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
}
export interface LinuxPodSandboxConfig {
  cgroup_parent: string;
  security_context: LinuxSandboxSecurityContext | null;
  sysctls: Labels;
  overhead: LinuxContainerResources | null;
  /** containerd 1.6 derives the io.kubernetes.cri.sandbox-* sizing annotations from this. */
  resources: LinuxContainerResources | null;
}
export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt: number }
export interface PodSandboxConfig {
  metadata: PodSandboxMetadata | null;
  hostname: string;
  log_directory: string;
  dns_config: DNSConfig | null;
  port_mappings: PortMapping[];
  labels: Labels;
  annotations: Labels;
  linux: LinuxPodSandboxConfig | null;
}
export interface PodSandboxNetworkStatus { ip: string; additional_ips: { ip: string }[] }
export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  created_at: number;
  network: PodSandboxNetworkStatus | null;
  linux: { namespaces: { options: NamespaceOption | null } | null } | null;
  labels: Labels;
  annotations: Labels;
  runtime_handler: string;
}
export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  created_at: number;
  labels: Labels;
  annotations: Labels;
  runtime_handler: string;
}

export interface Capability { add_capabilities: string[]; drop_capabilities: string[]; add_ambient_capabilities: string[] }
export interface LinuxContainerSecurityContext {
  capabilities: Capability | null;
  privileged: boolean;
  namespace_options: NamespaceOption | null;
  run_as_user: Int64Value | null;
  run_as_username: string;
  readonly_rootfs: boolean;
  supplemental_groups: number[];
  no_new_privs: boolean;
  run_as_group: Int64Value | null;
  masked_paths: string[];
  readonly_paths: string[];
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
}
export interface ContainerMetadata { name: string; attempt: number }
export interface ContainerConfig {
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  command: string[];
  args: string[];
  working_dir: string;
  envs: KeyValue[];
  mounts: Mount[];
  devices: Device[];
  labels: Labels;
  annotations: Labels;
  /** Relative to the pod's log_directory. */
  log_path: string;
  stdin: boolean;
  stdin_once: boolean;
  tty: boolean;
  linux: { resources: LinuxContainerResources | null; security_context: LinuxContainerSecurityContext | null } | null;
}
export interface Container {
  id: string;
  pod_sandbox_id: string;
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  image_ref: string;
  state: ContainerState;
  created_at: number;
  labels: Labels;
  annotations: Labels;
}
export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata | null;
  state: ContainerState;
  /** Nanoseconds since the epoch (0 when not yet). */
  created_at: number;
  started_at: number;
  finished_at: number;
  exit_code: number;
  image: ImageSpec | null;
  image_ref: string;
  /** containerd: "Completed" (exit 0), "Error", "OOMKilled". */
  reason: string;
  message: string;
  labels: Labels;
  annotations: Labels;
  mounts: Mount[];
  /** Absolute: the pod's log_directory joined with the container's log_path. */
  log_path: string;
  resources: { linux: LinuxContainerResources | null } | null;
}
export interface FilesystemUsage { timestamp: number; fs_id: { mountpoint: string } | null; used_bytes: UInt64Value | null; inodes_used: UInt64Value | null }
export interface CpuUsage { timestamp: number; usage_core_nano_seconds: UInt64Value | null; usage_nano_cores: UInt64Value | null }
export interface MemoryUsage {
  timestamp: number;
  working_set_bytes: UInt64Value | null;
  available_bytes: UInt64Value | null;
  usage_bytes: UInt64Value | null;
  rss_bytes: UInt64Value | null;
  page_faults: UInt64Value | null;
  major_page_faults: UInt64Value | null;
}
export interface ContainerStats {
  attributes: { id: string; metadata: ContainerMetadata | null; labels: Labels; annotations: Labels } | null;
  cpu: CpuUsage | null;
  memory: MemoryUsage | null;
  writable_layer: FilesystemUsage | null;
}
export interface Image {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: number;
  uid: Int64Value | null;
  username: string;
  spec: ImageSpec | null;
  pinned: boolean;
}
export interface RuntimeCondition { type: string; status: boolean; reason: string; message: string }

// ---- requests: every field optional, as in proto3

/** A message as a request may give it: any field may be left out, at any depth. */
export type In<T> = T extends Buffer
  ? T
  : T extends readonly (infer U)[]
    ? In<U>[]
    : T extends object
      ? { [K in keyof T]?: In<NonNullable<T[K]>> }
      : T;

export interface RuntimeRpcs {
  Version: [{ version: string }, { version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }];
  Status: [{ verbose: boolean }, { status: { conditions: RuntimeCondition[] } | null; info: Labels }];
  RunPodSandbox: [{ config: PodSandboxConfig; runtime_handler: string }, { pod_sandbox_id: string }];
  StopPodSandbox: [{ pod_sandbox_id: string }, Record<string, never>];
  RemovePodSandbox: [{ pod_sandbox_id: string }, Record<string, never>];
  PodSandboxStatus: [{ pod_sandbox_id: string; verbose: boolean }, { status: PodSandboxStatus | null; info: Labels }];
  ListPodSandbox: [
    { filter: { id: string; state: { state: PodSandboxState }; label_selector: Labels } },
    { items: PodSandbox[] },
  ];
  CreateContainer: [{ pod_sandbox_id: string; config: ContainerConfig; sandbox_config: PodSandboxConfig }, { container_id: string }];
  StartContainer: [{ container_id: string }, Record<string, never>];
  /** timeout in seconds: SIGTERM (or the image's StopSignal), SIGKILL after it; 0 = SIGKILL at once. */
  StopContainer: [{ container_id: string; timeout: number }, Record<string, never>];
  RemoveContainer: [{ container_id: string }, Record<string, never>];
  ListContainers: [
    { filter: { id: string; state: { state: ContainerState }; pod_sandbox_id: string; label_selector: Labels } },
    { containers: Container[] },
  ];
  ContainerStatus: [{ container_id: string; verbose: boolean }, { status: ContainerStatus | null; info: Labels }];
  UpdateContainerResources: [{ container_id: string; linux: LinuxContainerResources; annotations: Labels }, Record<string, never>];
  /** timeout in seconds; 0 = none. */
  ExecSync: [{ container_id: string; cmd: string[]; timeout: number }, { stdout: Buffer; stderr: Buffer; exit_code: number }];
  ContainerStats: [{ container_id: string }, { stats: ContainerStats | null }];
  ListContainerStats: [{ filter: { id: string; pod_sandbox_id: string; label_selector: Labels } }, { stats: ContainerStats[] }];
}

export interface ImageRpcs {
  /** image is null when CRI does not know the image. */
  ImageStatus: [{ image: ImageSpec; verbose: boolean }, { image: Image | null; info: Labels }];
}

export type RuntimeRequest<M extends keyof RuntimeRpcs> = In<RuntimeRpcs[M][0]>;
export type RuntimeResponse<M extends keyof RuntimeRpcs> = RuntimeRpcs[M][1];

export interface CallOptions {
  /** gRPC deadline from now; default 120 s. A shorter one lets a caller give up early. */
  timeoutMs?: number;
}

/** A failed CRI call: the gRPC status code (grpc.status) with its name and the server's details. */
export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'CriError';
  }

  get codeName(): string {
    return grpc.status[this.code] ?? String(this.code);
  }
}

type Call = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;
type ClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => grpc.Client;

type Rpcs<T> = { [M in keyof T & string as Uncapitalize<M>]: T[M] extends [infer Q, infer R] ? (request?: In<Q>, options?: CallOptions) => Promise<R> : never };

export type CriClient = Rpcs<RuntimeRpcs> &
  Rpcs<ImageRpcs> & {
    readonly address: string;
    close(): void;
  };

let definition: protoLoader.PackageDefinition | undefined;
function services(): { RuntimeService: ClientConstructor; ImageService: ClientConstructor } {
  definition ??= protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, objects: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    runtime: { v1: { RuntimeService: ClientConstructor; ImageService: ClientConstructor } };
  };
  return loaded.runtime.v1;
}

const RUNTIME_METHODS: readonly (keyof RuntimeRpcs)[] = [
  'Version', 'Status', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox',
  'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers', 'ContainerStatus',
  'UpdateContainerResources', 'ExecSync', 'ContainerStats', 'ListContainerStats',
];
const IMAGE_METHODS: readonly (keyof ImageRpcs)[] = ['ImageStatus'];

function unary(client: grpc.Client, method: string) {
  const call = (client as unknown as Record<string, Call>)[method];
  if (typeof call !== 'function') throw new Error(`CRI client: no method ${method}`);
  return (request: unknown = {}, options: CallOptions = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      call.call(client, request, new grpc.Metadata(), { deadline }, (err, res) =>
        err ? reject(new CriError(method, err.code, err.details)) : resolve(res),
      );
    });
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * Connects lazily to containerd's socket (`path` or `unix://path`). containerd 1.6 serves
 * runtime.v1 on its main gRPC socket; v1alpha2 is not spoken here.
 */
export function connectCri(socket: string): CriClient {
  const address = socket.startsWith('unix:') ? socket : `unix://${socket}`;
  const { RuntimeService, ImageService } = services();
  // ExecSync output and verbose statuses can exceed gRPC's 4 MiB default for a response.
  const options: grpc.ClientOptions = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
  const runtime = new RuntimeService(address, grpc.credentials.createInsecure(), options);
  const image = new ImageService(address, grpc.credentials.createInsecure(), options);
  const methods: Record<string, unknown> = {};
  for (const m of RUNTIME_METHODS) methods[lowerFirst(m)] = unary(runtime, m);
  for (const m of IMAGE_METHODS) methods[lowerFirst(m)] = unary(image, m);
  return {
    ...(methods as Rpcs<RuntimeRpcs> & Rpcs<ImageRpcs>),
    address,
    close() {
      image.close();
      runtime.close();
    },
  };
}

/** True when `err` is a CriError with this gRPC code, e.g. isCriError(e, grpc.status.NOT_FOUND). */
export function isCriError(err: unknown, code?: grpc.status): err is CriError {
  return err instanceof CriError && (code === undefined || err.code === code);
}

export { status as GrpcStatus } from '@grpc/grpc-js';
