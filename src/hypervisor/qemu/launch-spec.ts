// From the validated configuration and the sandbox's boot size to a QEMU launch spec.
import { join } from 'node:path';
import type { QemuConfig } from '../../config/index.js';
import type { VmNic } from '../hypervisor.js';
import { guestKernelParams, type QemuLaunchSpec } from './command-line.js';
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
  readonly debug: boolean;
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

export function qemuLaunchSpec(cfg: QemuConfig, inp: LaunchInputs): QemuLaunchSpec {
  const paths = qemuRunPaths(inp.runDir);
  const virtioFs = cfg.sharedFs === 'virtio-fs';
  return {
    qemuPath: cfg.path,
    name: inp.sandboxId,
    machineType: cfg.machineType,
    accel: inp.accel,
    machineAccelerators: cfg.machineAccelerators || undefined,
    cpuFeatures: cfg.cpuFeatures || undefined,
    vcpus: inp.vcpus,
    maxVcpus: inp.maxVcpus,
    memoryMiB: inp.memoryMiB,
    memorySlots: cfg.memorySlots,
    maxMemoryMiB: Math.max(inp.maxMemoryMiB, inp.memoryMiB),
    kernel: cfg.kernel,
    initrd: cfg.initrd || undefined,
    image: cfg.image || undefined,
    kernelParams: guestKernelParams({
      debug: inp.debug,
      maxVcpus: inp.maxVcpus,
      rootImage: !!cfg.image,
      tscKhz: inp.accel === 'tcg' ? inp.tscKhz : undefined,
      extra: cfg.kernelParams.split(/\s+/).filter(Boolean),
    }),
    sharedFs: virtioFs ? { socketPath: paths.virtiofsd, tag: SHARED_FS_TAG, queueSize: 1024 } : undefined,
    agent:
      inp.vsockCid !== undefined
        ? { kind: 'vsock', cid: inp.vsockCid, ...(inp.vhostFd !== undefined ? { vhostFd: inp.vhostFd } : {}) }
        : { kind: 'serial', socketPath: paths.agent },
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
