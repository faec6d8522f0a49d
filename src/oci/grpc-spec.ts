// OCI runtime-spec JSON <-> Kata's grpc.Spec (oci.proto). Pure, both directions: the
// host converts a container's config.json for CreateContainer, the guest agent turns
// it back into a config.json for runc. proto3 scalars have no presence, so a zero
// limit on the wire means "not set" when converting back.
import { grpc } from '../gen/proto.js';
import type * as oci from './runtime-spec.js';

type GSpec = grpc.Spec.$Properties;

const arr = <T>(v: T[] | null | undefined): T[] => v ?? [];
const nz = (v: number | null | undefined): number | undefined => (v ? v : undefined);
const nonEmpty = <T>(v: T[] | null | undefined): T[] | undefined => (v && v.length ? v : undefined);
const str = (v: string | null | undefined): string | undefined => (v ? v : undefined);
/** Drops undefined fields so JSON and equality checks see only what was set. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

// ---- OCI -> grpc ---------------------------------------------------------------

export function specToGrpc(s: oci.Spec): GSpec {
  return {
    Version: s.ociVersion,
    Process: s.process ? processToGrpc(s.process) : null,
    Root: s.root ? { Path: s.root.path, Readonly: !!s.root.readonly } : null,
    Hostname: s.hostname ?? '',
    Mounts: arr(s.mounts).map((m) => ({ destination: m.destination, source: m.source ?? '', type: m.type ?? '', options: arr(m.options) })),
    Hooks: s.hooks ? hooksToGrpc(s.hooks) : null,
    Annotations: { ...s.annotations },
    Linux: s.linux ? linuxToGrpc(s.linux) : null,
  };
}

export function processToGrpc(p: oci.Process): grpc.Process.$Properties {
  return {
    Terminal: !!p.terminal,
    ConsoleSize: p.consoleSize ? { Height: p.consoleSize.height, Width: p.consoleSize.width } : null,
    User: { UID: p.user.uid, GID: p.user.gid, AdditionalGids: arr(p.user.additionalGids), Username: p.user.username ?? '' },
    Args: arr(p.args),
    Env: arr(p.env),
    Cwd: p.cwd,
    Capabilities: p.capabilities
      ? {
          Bounding: arr(p.capabilities.bounding),
          Effective: arr(p.capabilities.effective),
          Inheritable: arr(p.capabilities.inheritable),
          Permitted: arr(p.capabilities.permitted),
          Ambient: arr(p.capabilities.ambient),
        }
      : null,
    Rlimits: arr(p.rlimits).map((r) => ({ Type: r.type, Hard: r.hard, Soft: r.soft })),
    NoNewPrivileges: !!p.noNewPrivileges,
    ApparmorProfile: p.apparmorProfile ?? '',
    OOMScoreAdj: p.oomScoreAdj ?? 0,
    SelinuxLabel: p.selinuxLabel ?? '',
  };
}

function hooksToGrpc(h: oci.Hooks): grpc.Hooks.$Properties {
  const hook = (list?: oci.Hook[]): grpc.Hook.$Properties[] =>
    arr(list).map((x) => ({ Path: x.path, Args: arr(x.args), Env: arr(x.env), Timeout: x.timeout ?? 0 }));
  return {
    Prestart: hook(h.prestart),
    Poststart: hook(h.poststart),
    Poststop: hook(h.poststop),
    CreateRuntime: hook(h.createRuntime),
    CreateContainer: hook(h.createContainer),
    StartContainer: hook(h.startContainer),
  };
}

function linuxToGrpc(l: oci.Linux): grpc.Linux.$Properties {
  const ids = (m?: oci.LinuxIDMapping[]): grpc.LinuxIDMapping.$Properties[] =>
    arr(m).map((x) => ({ HostID: x.hostID, ContainerID: x.containerID, Size: x.size }));
  return {
    UIDMappings: ids(l.uidMappings),
    GIDMappings: ids(l.gidMappings),
    Sysctl: { ...l.sysctl },
    Resources: l.resources ? resourcesToGrpc(l.resources) : null,
    CgroupsPath: l.cgroupsPath ?? '',
    Namespaces: arr(l.namespaces).map((n) => ({ Type: n.type, Path: n.path ?? '' })),
    Devices: arr(l.devices).map((d) => ({
      Path: d.path,
      Type: d.type,
      Major: d.major,
      Minor: d.minor,
      FileMode: d.fileMode ?? 0,
      UID: d.uid ?? 0,
      GID: d.gid ?? 0,
    })),
    Seccomp: l.seccomp
      ? {
          DefaultAction: l.seccomp.defaultAction,
          Architectures: arr(l.seccomp.architectures),
          Flags: arr(l.seccomp.flags),
          Syscalls: arr(l.seccomp.syscalls).map((c) => ({
            Names: c.names,
            Action: c.action,
            ...(c.errnoRet !== undefined ? { errnoret: c.errnoRet } : {}),
            Args: arr(c.args).map((a) => ({ Index: a.index, Value: a.value, ValueTwo: a.valueTwo ?? 0, Op: a.op })),
          })),
        }
      : null,
    RootfsPropagation: l.rootfsPropagation ?? '',
    MaskedPaths: arr(l.maskedPaths),
    ReadonlyPaths: arr(l.readonlyPaths),
    MountLabel: l.mountLabel ?? '',
  };
}

export function resourcesToGrpc(r: oci.LinuxResources): grpc.LinuxResources.$Properties {
  const throttle = (list?: oci.LinuxThrottleDevice[]): grpc.LinuxThrottleDevice.$Properties[] =>
    arr(list).map((d) => ({ Major: d.major, Minor: d.minor, Rate: d.rate }));
  return {
    Devices: arr(r.devices).map((d) => ({ Allow: d.allow, Type: d.type ?? '', Major: d.major ?? -1, Minor: d.minor ?? -1, Access: d.access ?? '' })),
    Memory: r.memory
      ? {
          Limit: r.memory.limit ?? 0,
          Reservation: r.memory.reservation ?? 0,
          Swap: r.memory.swap ?? 0,
          Kernel: r.memory.kernel ?? 0,
          KernelTCP: r.memory.kernelTCP ?? 0,
          Swappiness: r.memory.swappiness ?? 0,
          DisableOOMKiller: !!r.memory.disableOOMKiller,
        }
      : null,
    CPU: r.cpu
      ? {
          Shares: r.cpu.shares ?? 0,
          Quota: r.cpu.quota ?? 0,
          Period: r.cpu.period ?? 0,
          RealtimeRuntime: r.cpu.realtimeRuntime ?? 0,
          RealtimePeriod: r.cpu.realtimePeriod ?? 0,
          Cpus: r.cpu.cpus ?? '',
          Mems: r.cpu.mems ?? '',
        }
      : null,
    Pids: r.pids ? { Limit: r.pids.limit } : null,
    BlockIO: r.blockIO
      ? {
          Weight: r.blockIO.weight ?? 0,
          LeafWeight: r.blockIO.leafWeight ?? 0,
          WeightDevice: arr(r.blockIO.weightDevice).map((d) => ({ Major: d.major, Minor: d.minor, Weight: d.weight ?? 0, LeafWeight: d.leafWeight ?? 0 })),
          ThrottleReadBpsDevice: throttle(r.blockIO.throttleReadBpsDevice),
          ThrottleWriteBpsDevice: throttle(r.blockIO.throttleWriteBpsDevice),
          ThrottleReadIOPSDevice: throttle(r.blockIO.throttleReadIOPSDevice),
          ThrottleWriteIOPSDevice: throttle(r.blockIO.throttleWriteIOPSDevice),
        }
      : null,
    HugepageLimits: arr(r.hugepageLimits).map((h) => ({ Pagesize: h.pageSize, Limit: h.limit })),
    Network: r.network
      ? { ClassID: r.network.classID ?? 0, Priorities: arr(r.network.priorities).map((p) => ({ Name: p.name, Priority: p.priority })) }
      : null,
  };
}

// ---- grpc -> OCI ---------------------------------------------------------------

export function specFromGrpc(g: GSpec): oci.Spec {
  return clean({
    ociVersion: g.Version || '1.0.2',
    process: g.Process ? processFromGrpc(g.Process) : undefined,
    root: g.Root ? clean({ path: g.Root.Path ?? '', readonly: g.Root.Readonly || undefined }) : undefined,
    hostname: str(g.Hostname),
    mounts: arr(g.Mounts).map((m) =>
      clean({ destination: m.destination ?? '', type: str(m.type), source: str(m.source), options: nonEmpty(m.options) }),
    ),
    hooks: g.Hooks ? hooksFromGrpc(g.Hooks) : undefined,
    annotations: g.Annotations && Object.keys(g.Annotations).length ? { ...g.Annotations } : undefined,
    linux: g.Linux ? linuxFromGrpc(g.Linux) : undefined,
  });
}

export function processFromGrpc(p: grpc.Process.$Properties): oci.Process {
  const c = p.Capabilities;
  return clean({
    terminal: p.Terminal || undefined,
    consoleSize: p.ConsoleSize ? { height: p.ConsoleSize.Height ?? 0, width: p.ConsoleSize.Width ?? 0 } : undefined,
    user: clean({
      uid: p.User?.UID ?? 0,
      gid: p.User?.GID ?? 0,
      additionalGids: nonEmpty(p.User?.AdditionalGids),
      username: str(p.User?.Username),
    }),
    args: arr(p.Args),
    env: nonEmpty(p.Env),
    cwd: p.Cwd || '/',
    capabilities: c
      ? clean({
          bounding: nonEmpty(c.Bounding),
          effective: nonEmpty(c.Effective),
          inheritable: nonEmpty(c.Inheritable),
          permitted: nonEmpty(c.Permitted),
          ambient: nonEmpty(c.Ambient),
        })
      : undefined,
    rlimits: nonEmpty(arr(p.Rlimits).map((r) => ({ type: r.Type ?? '', hard: r.Hard ?? 0, soft: r.Soft ?? 0 }))),
    noNewPrivileges: p.NoNewPrivileges || undefined,
    apparmorProfile: str(p.ApparmorProfile),
    oomScoreAdj: p.OOMScoreAdj || undefined,
    selinuxLabel: str(p.SelinuxLabel),
  });
}

function hooksFromGrpc(h: grpc.Hooks.$Properties): oci.Hooks {
  const hook = (list?: grpc.Hook.$Properties[] | null): oci.Hook[] | undefined =>
    nonEmpty(arr(list).map((x) => clean({ path: x.Path ?? '', args: nonEmpty(x.Args), env: nonEmpty(x.Env), timeout: nz(x.Timeout) })));
  return clean({
    prestart: hook(h.Prestart),
    createRuntime: hook(h.CreateRuntime),
    createContainer: hook(h.CreateContainer),
    startContainer: hook(h.StartContainer),
    poststart: hook(h.Poststart),
    poststop: hook(h.Poststop),
  });
}

function linuxFromGrpc(l: grpc.Linux.$Properties): oci.Linux {
  const ids = (m?: grpc.LinuxIDMapping.$Properties[] | null): oci.LinuxIDMapping[] | undefined =>
    nonEmpty(arr(m).map((x) => ({ containerID: x.ContainerID ?? 0, hostID: x.HostID ?? 0, size: x.Size ?? 0 })));
  const s = l.Seccomp;
  return clean({
    uidMappings: ids(l.UIDMappings),
    gidMappings: ids(l.GIDMappings),
    sysctl: l.Sysctl && Object.keys(l.Sysctl).length ? { ...l.Sysctl } : undefined,
    resources: l.Resources ? resourcesFromGrpc(l.Resources) : undefined,
    cgroupsPath: str(l.CgroupsPath),
    namespaces: nonEmpty(arr(l.Namespaces).map((n) => clean({ type: (n.Type ?? '') as oci.NamespaceType, path: str(n.Path) }))),
    devices: nonEmpty(
      arr(l.Devices).map((d) =>
        clean({ path: d.Path ?? '', type: d.Type ?? '', major: d.Major ?? 0, minor: d.Minor ?? 0, fileMode: nz(d.FileMode), uid: d.UID ?? undefined, gid: d.GID ?? undefined }),
      ),
    ),
    seccomp: s
      ? clean({
          defaultAction: s.DefaultAction ?? '',
          architectures: nonEmpty(s.Architectures),
          flags: nonEmpty(s.Flags),
          syscalls: nonEmpty(
            arr(s.Syscalls).map((c) =>
              clean({
                names: arr(c.Names),
                action: c.Action ?? '',
                errnoRet: c.errnoret ?? undefined,
                args: nonEmpty(arr(c.Args).map((a) => clean({ index: a.Index ?? 0, value: a.Value ?? 0, valueTwo: nz(a.ValueTwo), op: a.Op ?? '' }))),
              }),
            ),
          ),
        })
      : undefined,
    rootfsPropagation: str(l.RootfsPropagation),
    maskedPaths: nonEmpty(l.MaskedPaths),
    readonlyPaths: nonEmpty(l.ReadonlyPaths),
    mountLabel: str(l.MountLabel),
  });
}

export function resourcesFromGrpc(r: grpc.LinuxResources.$Properties): oci.LinuxResources {
  const m = r.Memory;
  const c = r.CPU;
  const b = r.BlockIO;
  const throttle = (list?: grpc.LinuxThrottleDevice.$Properties[] | null): oci.LinuxThrottleDevice[] | undefined =>
    nonEmpty(arr(list).map((d) => ({ major: d.Major ?? 0, minor: d.Minor ?? 0, rate: d.Rate ?? 0 })));
  return clean({
    devices: nonEmpty(
      arr(r.Devices).map((d) =>
        clean({ allow: !!d.Allow, type: str(d.Type), major: d.Major === -1 ? undefined : (d.Major ?? undefined), minor: d.Minor === -1 ? undefined : (d.Minor ?? undefined), access: str(d.Access) }),
      ),
    ),
    memory: m
      ? clean({
          limit: nz(m.Limit),
          reservation: nz(m.Reservation),
          swap: nz(m.Swap),
          kernel: nz(m.Kernel),
          kernelTCP: nz(m.KernelTCP),
          swappiness: nz(m.Swappiness),
          disableOOMKiller: m.DisableOOMKiller || undefined,
        })
      : undefined,
    cpu: c
      ? clean({
          shares: nz(c.Shares),
          quota: nz(c.Quota),
          period: nz(c.Period),
          realtimeRuntime: nz(c.RealtimeRuntime),
          realtimePeriod: nz(c.RealtimePeriod),
          cpus: str(c.Cpus),
          mems: str(c.Mems),
        })
      : undefined,
    pids: r.Pids && r.Pids.Limit ? { limit: r.Pids.Limit } : undefined,
    blockIO: b
      ? clean({
          weight: nz(b.Weight),
          leafWeight: nz(b.LeafWeight),
          weightDevice: nonEmpty(arr(b.WeightDevice).map((d) => clean({ major: d.Major ?? 0, minor: d.Minor ?? 0, weight: nz(d.Weight), leafWeight: nz(d.LeafWeight) }))),
          throttleReadBpsDevice: throttle(b.ThrottleReadBpsDevice),
          throttleWriteBpsDevice: throttle(b.ThrottleWriteBpsDevice),
          throttleReadIOPSDevice: throttle(b.ThrottleReadIOPSDevice),
          throttleWriteIOPSDevice: throttle(b.ThrottleWriteIOPSDevice),
        })
      : undefined,
    hugepageLimits: nonEmpty(arr(r.HugepageLimits).map((h) => ({ pageSize: h.Pagesize ?? '', limit: h.Limit ?? 0 }))),
    network: r.Network
      ? clean({ classID: nz(r.Network.ClassID), priorities: nonEmpty(arr(r.Network.Priorities).map((p) => ({ name: p.Name ?? '', priority: p.Priority ?? 0 }))) })
      : undefined,
  });
}
