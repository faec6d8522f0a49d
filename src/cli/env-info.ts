// `kata-runtime env`: the resolved configuration and host facts, in Kata's section names
// (kata-env.go EnvInfo: Meta, Runtime, Hypervisor, Kernel, Initrd, Image, Agent, Host).
// Pure: the probe answers come in, a plain object goes out for TOML or JSON.
import { kvmUsable, resolveAccel, type KataConfig, type KvmStatus } from '../config/index.js';
import type { HostReport } from './host-probes.js';

/** Version of this output's layout; bump when a field changes. */
export const ENV_FORMAT_VERSION = '1.0.0';

export interface EnvInputs {
  readonly config: KataConfig;
  readonly host: HostReport;
  readonly kvm: KvmStatus;
  readonly vhostVsock: boolean;
  /** First line of `<qemu> --version`, or "unknown". */
  readonly hypervisorVersion: string;
  readonly runtimePath: string;
  readonly runtimeVersion: string;
}

export type EnvInfo = ReturnType<typeof buildEnvInfo>;

export function buildEnvInfo(i: EnvInputs) {
  const { hypervisor: h, agent: a, runtime: r } = i.config;
  return {
    Meta: { Version: ENV_FORMAT_VERSION },
    Runtime: {
      Path: i.runtimePath,
      Version: { Semver: i.runtimeVersion },
      Config: { Path: i.config.source, Warnings: [...i.config.warnings] },
      Debug: r.enableDebug,
      Trace: r.enableTracing,
      DisableGuestSeccomp: r.disableGuestSeccomp,
      DisableNewNetNs: r.disableNewNetns,
      SandboxCgroupOnly: r.sandboxCgroupOnly,
      StaticSandboxResourceMgmt: r.staticSandboxResourceMgmt,
      InternetworkingModel: r.internetworkingModel,
      Experimental: [...r.experimental],
    },
    Hypervisor: {
      Type: h.type,
      MachineType: h.machineType,
      Version: i.hypervisorVersion,
      Path: h.path,
      Accel: h.accel,
      AccelInUse: resolveAccel(h.accel, i.kvm),
      DefaultVCPUs: h.defaultVcpus,
      DefaultMaxVCPUs: h.defaultMaxVcpus,
      DefaultMemoryMiB: h.defaultMemoryMiB,
      DefaultMaxMemoryMiB: h.defaultMaxMemoryMiB,
      MemorySlots: h.memorySlots,
      BlockDeviceDriver: h.blockDeviceDriver,
      EntropySource: h.entropySource,
      SharedFS: h.sharedFs,
      VirtioFSDaemon: h.virtioFsDaemon,
      Debug: h.enableDebug,
      SecurityInfo: {
        EnableAnnotations: [...h.enableAnnotations],
        ValidHypervisorPaths: [...h.validHypervisorPaths],
      },
    },
    Kernel: { Path: h.kernel, Parameters: h.kernelParams },
    Initrd: { Path: h.initrd },
    Image: { Path: h.image },
    Agent: {
      Debug: a.enableDebug,
      Trace: a.enableTracing,
      DebugConsoleEnabled: a.debugConsoleEnabled,
      DialTimeoutSec: a.dialTimeoutSec,
      KernelModules: [...a.kernelModules],
    },
    Host: {
      Kernel: i.host.kernel,
      Architecture: i.host.architecture,
      CPU: { CPUs: i.host.cpus },
      Memory: { TotalMiB: i.host.memoryMiB, AvailableMiB: i.host.memoryAvailableMiB },
      KVM: {
        DevicePresent: i.kvm.devicePresent,
        Openable: i.kvm.openable,
        HardwareVirtualization: i.kvm.hardwareVirt,
        Usable: kvmUsable(i.kvm),
      },
      VMContainerCapable: kvmUsable(i.kvm),
      SupportVSocks: i.vhostVsock,
    },
  };
}
