// PodSandboxConfig and ContainerConfig as kubelet sends them, with only what a test needs.
import { randomUUID } from 'node:crypto';
import type {
  ContainerConfig,
  Device,
  DNSConfig,
  In,
  LinuxContainerResources,
  LinuxContainerSecurityContext,
  Mount,
  NamespaceOption,
  PodSandboxConfig,
  PortMapping,
} from './cri-client.js';

export interface PodConfigOptions {
  name: string;
  /** Kubernetes namespace in the metadata; default "default". */
  namespace?: string;
  /** Default a random UUID. */
  uid?: string;
  hostname?: string;
  logDirectory?: string;
  /** Shorthand for namespaceOptions.network: 'NODE' for a host-network pod. */
  network?: 'POD' | 'NODE';
  namespaceOptions?: In<NamespaceOption>;
  /** linux.resources: containerd 1.6 turns it into the sandbox sizing annotations. */
  resources?: In<LinuxContainerResources>;
  overhead?: In<LinuxContainerResources>;
  cgroupParent?: string;
  privileged?: boolean;
  sysctls?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  dnsConfig?: In<DNSConfig>;
  portMappings?: readonly In<PortMapping>[];
}

export interface ContainerConfigOptions {
  name: string;
  image: string;
  command?: readonly string[];
  args?: readonly string[];
  workingDir?: string;
  env?: Readonly<Record<string, string>>;
  mounts?: readonly In<Mount>[];
  devices?: readonly In<Device>[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the pod's log directory; default "<name>.log". */
  logPath?: string;
  stdin?: boolean;
  tty?: boolean;
  resources?: In<LinuxContainerResources>;
  /** Merged under the shorthands below. */
  securityContext?: In<LinuxContainerSecurityContext>;
  namespaceOptions?: In<NamespaceOption>;
  privileged?: boolean;
  readonlyRootfs?: boolean;
  runAsUser?: number;
}

/** A PodSandboxConfig as kubelet would send it, with only what a test needs. */
export function podConfig(o: PodConfigOptions): In<PodSandboxConfig> {
  // kubelet's defaults (namespacesForPod): the pod's network and IPC, a PID namespace per
  // container unless shareProcessNamespace. The enum's zero value is POD, so it is spelled out.
  const namespaceOptions: In<NamespaceOption> = {
    network: 'POD',
    pid: 'CONTAINER',
    ipc: 'POD',
    ...o.namespaceOptions,
    ...(o.network === undefined ? {} : { network: o.network }),
  };
  return {
    metadata: { name: o.name, uid: o.uid ?? randomUUID(), namespace: o.namespace ?? 'default', attempt: 0 },
    // kubelet leaves hostname empty for a host-network pod: runc refuses to set one in the host's UTS namespace.
    hostname: o.hostname ?? (namespaceOptions.network === 'NODE' ? '' : o.name),
    ...(o.logDirectory === undefined ? {} : { log_directory: o.logDirectory }),
    ...(o.dnsConfig === undefined ? {} : { dns_config: o.dnsConfig }),
    ...(o.portMappings === undefined ? {} : { port_mappings: [...o.portMappings] }),
    labels: { ...o.labels },
    annotations: { ...o.annotations },
    linux: {
      cgroup_parent: o.cgroupParent ?? '',
      security_context: { namespace_options: namespaceOptions, privileged: o.privileged ?? false },
      sysctls: { ...o.sysctls },
      ...(o.resources === undefined ? {} : { resources: o.resources }),
      ...(o.overhead === undefined ? {} : { overhead: o.overhead }),
    },
  };
}

/** A ContainerConfig as kubelet would send it, with only what a test needs. */
export function containerConfig(o: ContainerConfigOptions): In<ContainerConfig> {
  const security: In<LinuxContainerSecurityContext> = {
    ...o.securityContext,
    ...(o.namespaceOptions === undefined ? {} : { namespace_options: o.namespaceOptions }),
    ...(o.privileged === undefined ? {} : { privileged: o.privileged }),
    ...(o.readonlyRootfs === undefined ? {} : { readonly_rootfs: o.readonlyRootfs }),
    ...(o.runAsUser === undefined ? {} : { run_as_user: { value: o.runAsUser } }),
  };
  return {
    metadata: { name: o.name, attempt: 0 },
    image: { image: o.image },
    command: [...(o.command ?? [])],
    args: [...(o.args ?? [])],
    working_dir: o.workingDir ?? '',
    envs: Object.entries(o.env ?? {}).map(([key, value]) => ({ key, value })),
    mounts: [...(o.mounts ?? [])],
    ...(o.devices === undefined ? {} : { devices: [...o.devices] }),
    labels: { ...o.labels },
    annotations: { ...o.annotations },
    log_path: o.logPath ?? `${o.name}.log`,
    stdin: o.stdin ?? false,
    tty: o.tty ?? false,
    linux: { ...(o.resources === undefined ? {} : { resources: o.resources }), security_context: security },
  };
}
