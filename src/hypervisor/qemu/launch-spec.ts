// From the validated configuration and the sandbox's boot size to a QEMU launch spec.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { QemuConfig } from '../../config/index.js';
import { Code, RuntimeError } from '../../errors/index.js';
import type { VmNic } from '../hypervisor.js';
import { guestKernelParams, type QemuLaunchSpec, type RootImage } from './command-line.js';
import { qemuRunPaths } from './qemu.js';

/** virtio-fs tag the guest mounts (Kata's). */
export const SHARED_FS_TAG = 'kataShared';

export interface LaunchInputs {
  readonly sandboxId: string;
  readonly runDir: string;
  readonly accel: 'kvm' | 'tcg';
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly memoryMiB: number;
  readonly maxMemoryMiB: number;
  /** `[hypervisor.qemu] enable_debug`. */
  readonly debug: boolean;
  /** Kernel parameters of the agent (src/agent/kernel-params.ts). */
  readonly agentKernelParams?: readonly string[];
  /** The debug console's port name, when `debug_console_enabled`; undefined: no port. */
  readonly debugConsolePort?: string;
  readonly tscKhz?: number;
  /** Undefined when the host has no vhost-vsock: the agent then uses virtio-serial. */
  readonly vsockCid?: number;
  /**
   * The /dev/vhost-vsock descriptor that holds `vsockCid` (from probeAgentChannel). QEMU
   * inherits it; the QemuHypervisor built from this spec owns and closes our copy.
   */
  readonly vhostFd?: number;
  /** The pod's network: the namespace QEMU runs in and the taps it attaches there. */
  readonly network?: { readonly netns: string; readonly nics: readonly VmNic[] };
  /** Whether /dev/vhost-net opens on this host (read by the caller, a host fact). */
  readonly vhostNetAvailable?: boolean;
}

/** vhost-net only under KVM (QEMU aborts with it under TCG) and unless the configuration says no. */
export const useVhostNet = (cfg: QemuConfig, inp: LaunchInputs): boolean => inp.accel === 'kvm' && !cfg.disableVhostNet && !!inp.vhostNetAvailable;

/** Size in bytes of the file at a path (the root image's, for its NVDIMM). */
export type FileSize = (path: string) => number;

const statFileSize: FileSize = (path) => {
  try {
    return statSync(path).size;
  } catch (err) {
    throw new RuntimeError(Code.FAILED_PRECONDITION, `qemu: image ${path} does not exist`, { cause: err });
  }
};

/**
 * Linux maps an NVDIMM with DAX only when it starts and ends on a 2 MiB boundary, and
 * hot-added DIMMs are placed right after it, where they must start on a 128 MiB memory
 * block: so the image size must be a multiple of 128 MiB (build.sh pads it, as Kata does).
 */
export const NVDIMM_IMAGE_ALIGN_BYTES = 128 * 1024 * 1024;

/** The NVDIMM unless `disable_image_nvdimm`; an image that cannot be one is refused with why. */
export function rootImage(cfg: QemuConfig, fileSize: FileSize = statFileSize): RootImage | undefined {
  if (!cfg.image) return undefined;
  if (cfg.disableImageNvdimm) return { via: 'virtio-blk', path: cfg.image };
  const sizeBytes = fileSize(cfg.image);
  if (sizeBytes === 0 || sizeBytes % NVDIMM_IMAGE_ALIGN_BYTES !== 0) {
    throw new RuntimeError(
      Code.FAILED_PRECONDITION,
      `qemu: image ${cfg.image} is ${sizeBytes} bytes, not a multiple of 128 MiB as an NVDIMM root needs; ` +
        'rebuild it (scripts/guest/build.sh) or set disable_image_nvdimm = true',
    );
  }
  return { via: 'nvdimm', path: cfg.image, sizeBytes };
}

export function qemuLaunchSpec(cfg: QemuConfig, inp: LaunchInputs, fileSize: FileSize = statFileSize): QemuLaunchSpec {
  const paths = qemuRunPaths(inp.runDir);
  const virtioFs = cfg.sharedFs === 'virtio-fs';
  const image = rootImage(cfg, fileSize);
  return {
    qemuPath: cfg.path,
    name: inp.sandboxId,
    machineType: cfg.machineType,
    accel: inp.accel,
    ...(inp.accel === 'tcg' && cfg.tcgTbSizeMiB > 0 ? { tcgTbSizeMiB: cfg.tcgTbSizeMiB } : {}),
    machineAccelerators: cfg.machineAccelerators || undefined,
    cpuFeatures: cfg.cpuFeatures || undefined,
    vcpus: inp.vcpus,
    maxVcpus: inp.maxVcpus,
    memoryMiB: inp.memoryMiB,
    memorySlots: cfg.memorySlots,
    maxMemoryMiB: Math.max(inp.maxMemoryMiB, inp.memoryMiB),
    kernel: cfg.kernel,
    initrd: cfg.initrd || undefined,
    rootImage: image,
    reclaimGuestFreedMemory: cfg.reclaimGuestFreedMemory,
    kernelParams: guestKernelParams({
      debug: inp.debug,
      maxVcpus: inp.maxVcpus,
      root: image?.via,
      tscKhz: inp.accel === 'tcg' ? inp.tscKhz : undefined,
      agent: inp.agentKernelParams,
      extra: cfg.kernelParams.split(/\s+/).filter(Boolean),
    }),
    sharedFs: virtioFs ? { socketPath: paths.virtiofsd, tag: SHARED_FS_TAG, queueSize: 1024 } : undefined,
    agent:
      inp.vsockCid !== undefined
        ? { kind: 'vsock', cid: inp.vsockCid, ...(inp.vhostFd !== undefined ? { vhostFd: inp.vhostFd } : {}) }
        : { kind: 'serial', socketPath: paths.agent },
    ...(inp.debugConsolePort ? { debugConsole: { socketPath: paths.debugConsole, portName: inp.debugConsolePort } } : {}),
    netns: inp.network?.netns,
    nics: (inp.network?.nics ?? []).map((n) => ({ ...n, vhost: useVhostNet(cfg, inp) })),
    qmpSocket: paths.qmp,
    extraMonitor: cfg.extraMonitorSocket ? { protocol: cfg.extraMonitorSocket, socketPath: paths.extraMonitor } : undefined,
    consoleLog: paths.console,
    pidFile: paths.pid,
  };
}

/** Kata's per-VM run directory. */
export const vmRunDir = (sandboxId: string, root = '/run/vc/vm'): string => join(root, sandboxId);
