// Pure translation of a launch spec into QEMU's argv and the guest kernel command line.
// Everything the VM looks like is decided here, so it can be tested without QEMU.
import type { VmNic } from '../hypervisor.js';

export interface QemuLaunchSpec {
  readonly qemuPath: string;
  readonly name: string;
  readonly machineType: string;
  readonly accel: 'kvm' | 'tcg';
  /** Under TCG: the translation cache's size in MiB, all vCPUs on one thread; undefined: QEMU's own. */
  readonly tcgTbSizeMiB?: number;
  /** Extra machine options from `machine_accelerators`, e.g. "kernel_irqchip=on". */
  readonly machineAccelerators?: string;
  readonly cpuFeatures?: string;
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly memoryMiB: number;
  readonly memorySlots: number;
  readonly maxMemoryMiB: number;
  readonly kernel: string;
  readonly initrd?: string;
  /** The guest's read-only root image, and how it reaches the guest. */
  readonly rootImage?: RootImage;
  readonly kernelParams: readonly string[];
  /**
   * virtio-balloon with free page reporting (Kata's `reclaim_guest_freed_memory`): the
   * guest hands back the pages it frees and QEMU discards them from its RSS.
   */
  readonly reclaimGuestFreedMemory?: boolean;
  readonly sharedFs?: { readonly socketPath: string; readonly tag: string; readonly queueSize: number };
  /**
   * A second virtio-serial port for the agent's debug console (`debug_console_enabled`):
   * QEMU listens on `socketPath`, the guest sees a port named `portName`.
   */
  readonly debugConsole?: { readonly socketPath: string; readonly portName: string };
  readonly agent:
    | { readonly kind: 'serial'; readonly socketPath: string }
    /**
     * `vhostFd`: our open /dev/vhost-vsock descriptor that already holds `cid` (Kata's way);
     * QEMU inherits it as INHERITED_FD_BASE. Without it QEMU opens the device itself.
     */
    | { readonly kind: 'vsock'; readonly cid: number; readonly vhostFd?: number };
  /** The pod's NICs: tap devices in `netns`, each a virtio-net device with the pod interface's MAC. */
  readonly nics?: readonly NicSpec[];
  /** Network namespace QEMU runs in (it opens the taps by name there). */
  readonly netns?: string;
  readonly qmpSocket: string;
  /** Kata's `extra_monitor_socket`: a second monitor for tools, next to our own QMP connection. */
  readonly extraMonitor?: { readonly protocol: MonitorProtocol; readonly socketPath: string };
  /** The guest's serial console is written here (ttyS0). */
  readonly consoleLog: string;
  readonly pidFile: string;
}

/**
 * `nvdimm`: the image file mapped into the guest as a read-only NVDIMM; the guest mounts
 * the ext4 behind its DAX header straight from that mapping (/dev/pmem0, `dax`), so every
 * VM reads node from the host's one page cache. `virtio-blk`: a read-only disk whose MBR
 * points at the same ext4 (/dev/vda1), read through the guest's own page cache.
 */
export type RootImage =
  | { readonly via: 'nvdimm'; readonly path: string; readonly sizeBytes: number }
  | { readonly via: 'virtio-blk'; readonly path: string };

/** QEMU attaches the tap by name, from inside the sandbox's network namespace. */
export interface NicSpec extends VmNic {
  /** In-kernel virtio-net datapath: only with KVM and an openable /dev/vhost-net. */
  readonly vhost: boolean;
}

export type MonitorProtocol = 'hmp' | 'qmp' | 'qmp-pretty';

/** The first descriptor number QEMU sees our inherited descriptors at (after stdin, stdout, stderr). */
export const INHERITED_FD_BASE = 3;

/** Name of the virtio-serial port the guest agent looks for (Kata's). */
export const AGENT_SERIAL_PORT = 'agent.channel.0';

/** Kata's x86_64 defaults, then ours; later parameters win in the kernel. */
const BASE_KERNEL_PARAMS = [
  'tsc=reliable',
  'no_timer_check',
  'rcupdate.rcu_expedited=1',
  'i8042.direct=1',
  'i8042.dumbkbd=1',
  'i8042.nopnp=1',
  'i8042.noaux=1',
  'noreplace-smp',
  'reboot=k',
  'cryptomgr.notests',
  'net.ifnames=0',
  'pci=lastbus=0',
  // Virtio devices here address guest memory directly (no VIRTIO_F_ACCESS_PLATFORM), so
  // nothing needs bounce buffers; without this the kernel zeroes a 64 MiB SWIOTLB at boot,
  // 64 MiB of guest RAM every pod's QEMU then holds (docs/performance.md).
  'swiotlb=noforce',
];

export interface KernelParamsInput {
  /** `[hypervisor.qemu] enable_debug`: the kernel's debug output instead of `quiet`. */
  readonly debug: boolean;
  readonly maxVcpus: number;
  /** How the root image is attached; none: the initrd is the root. */
  readonly root?: RootImage['via'];
  /** Host TSC rate; under TCG it spares the guest a slow calibration. */
  readonly tscKhz?: number;
  /** The agent's parameters (its log level, its debug console), where Kata puts them: before `extra`. */
  readonly agent?: readonly string[];
  /** Configured `kernel_params` and annotation overrides, appended last. */
  readonly extra: readonly string[];
}

/**
 * Where the guest finds the ext4 of the root image. The NVDIMM's DAX header makes
 * /dev/pmem0 start at the filesystem; on virtio-blk the image's MBR names it partition 1.
 */
const ROOT_PARAMS: Readonly<Record<RootImage['via'], readonly string[]>> = {
  nvdimm: ['root=/dev/pmem0', 'rootflags=dax,errors=remount-ro', 'ro', 'rootfstype=ext4'],
  'virtio-blk': ['root=/dev/vda1', 'rootflags=errors=remount-ro', 'ro', 'rootfstype=ext4'],
};

export function guestKernelParams(input: KernelParamsInput): string[] {
  return [
    ...BASE_KERNEL_PARAMS,
    ...(input.tscKhz ? [`tsc_early_khz=${input.tscKhz}`] : []),
    ...(input.root ? ROOT_PARAMS[input.root] : []),
    'console=ttyS0',
    ...(input.debug ? ['debug'] : ['quiet']),
    'panic=1',
    `nr_cpus=${input.maxVcpus}`,
    ...(input.agent ?? []),
    ...input.extra,
  ];
}


/** `nvdimm=on` makes QEMU build the ACPI NFIT table that describes the image's NVDIMM. */
function machineArgs(spec: QemuLaunchSpec): string[] {
  const opts = [spec.machineType, ...(spec.rootImage?.via === 'nvdimm' ? ['nvdimm=on'] : []), ...(spec.machineAccelerators ? [spec.machineAccelerators] : [])];
  return ['-machine', opts.join(',')];
}

/**
 * The accelerator, on its own -accel (QEMU 7.2 refuses tb-size next to `-machine accel=`).
 * A bounded TCG cache is full after every boot, and QEMU 7.2 aborts when a vCPU thread is
 * added then (tcg/region.c:372: each multi-threaded vCPU needs a free region of the cache),
 * which vCPU hotplug did in the pod sizing tests. With one TCG thread for every vCPU
 * (`thread=single`) a hot-added vCPU needs no region of its own (docs/performance.md).
 */
function accelArgs(spec: QemuLaunchSpec): string[] {
  return ['-accel', singleTcgThread(spec) ? `tcg,thread=single,tb-size=${spec.tcgTbSizeMiB}` : spec.accel];
}

/**
 * A bounded TCG cache runs every vCPU on one TCG thread (accelArgs), and on that one thread
 * QEMU 7.2 aborts unplugging a vCPU (qemu_thread_join: Resource deadlock avoided).
 */
export const singleTcgThread = (spec: QemuLaunchSpec): boolean => spec.accel === 'tcg' && !!spec.tcgTbSizeMiB;

const MIB = 1024 * 1024;

/**
 * The NVDIMM is a memory device too: it takes one of QEMU's slots and its size counts
 * against maxmem, so both grow by it and the DIMM hotplug keeps all of memory_slots.
 */
function memoryArgs(spec: QemuLaunchSpec): string[] {
  const img = spec.rootImage?.via === 'nvdimm' ? spec.rootImage : undefined;
  const slots = spec.memorySlots + (img ? 1 : 0);
  const maxMiB = spec.maxMemoryMiB + (img ? Math.ceil(img.sizeBytes / MIB) : 0);
  return ['-m', `${spec.memoryMiB}M,slots=${slots},maxmem=${maxMiB}M`];
}

/**
 * Kata's NVDIMM arguments: a read-only file backend (the guest sees ROM, so vhost-user
 * does not pass it to virtiofsd) and `unarmed=on`, which QEMU requires for it.
 */
function rootImageArgs(img: RootImage): string[] {
  if (img.via === 'nvdimm') {
    return [
      '-object', `memory-backend-file,id=mem0,mem-path=${img.path},size=${img.sizeBytes},readonly=on`,
      '-device', 'nvdimm,id=nv0,memdev=mem0,unarmed=on',
    ];
  }
  return [
    '-drive', `file=${img.path},if=none,id=image0,format=raw,readonly=on`,
    '-device', 'virtio-blk-pci,drive=image0,id=image-device0',
  ];
}

/** Kata's balloon: never inflated by us, it only carries the guest's free page reports. */
const BALLOON_ARGS = ['-device', 'virtio-balloon-pci,id=balloon0,deflate-on-oom=on,free-page-reporting=on'];

export function qemuArgs(spec: QemuLaunchSpec): string[] {
  // TCG cannot pass the host CPU through; "max" gives the guest every emulated feature
  // and makes node in the guest about twice as fast as the default model.
  const cpuModel = spec.accel === 'kvm' ? 'host' : 'max';
  const args = [
    '-name', `sandbox-${spec.name}`,
    ...machineArgs(spec),
    ...accelArgs(spec),
    '-cpu', spec.cpuFeatures ? `${cpuModel},${spec.cpuFeatures}` : cpuModel,
    '-smp', `${spec.vcpus},cores=1,threads=1,sockets=${spec.maxVcpus},maxcpus=${spec.maxVcpus}`,
    ...memoryArgs(spec),
    '-qmp', `unix:${spec.qmpSocket},server=on,wait=off`,
    ...(spec.extraMonitor ? monitorArgs(spec.extraMonitor.protocol, spec.extraMonitor.socketPath) : []),
    '-pidfile', spec.pidFile,
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-chardev', `file,id=console,path=${spec.consoleLog}`,
    '-serial', 'chardev:console',
    '-kernel', spec.kernel,
  ];
  if (spec.initrd) args.push('-initrd', spec.initrd);
  if (spec.rootImage) args.push(...rootImageArgs(spec.rootImage));
  args.push('-append', spec.kernelParams.join(' '));
  if (spec.sharedFs) {
    // vhost-user needs guest RAM that virtiofsd can map: boot RAM is a shared memfd,
    // and hot-added DIMMs must be too (see the QEMU driver).
    args.push(
      '-object', `memory-backend-memfd,id=ram0,size=${spec.memoryMiB}M,share=on`,
      '-numa', 'node,memdev=ram0',
      '-chardev', `socket,id=char-fs0,path=${spec.sharedFs.socketPath}`,
      '-device', `vhost-user-fs-pci,chardev=char-fs0,tag=${spec.sharedFs.tag},queue-size=${spec.sharedFs.queueSize}`,
    );
  }
  if (spec.agent.kind === 'vsock') {
    const fd = spec.agent.vhostFd !== undefined ? `,vhostfd=${inheritedFds(spec).indexOf(spec.agent.vhostFd) + INHERITED_FD_BASE}` : '';
    args.push('-device', `vhost-vsock-pci,id=vsock0,guest-cid=${spec.agent.cid}${fd}`);
  }
  args.push(...serialPortArgs(spec));
  (spec.nics ?? []).forEach((nic, i) => args.push(...nicArgs(nic, i)));
  if (spec.reclaimGuestFreedMemory) args.push(...BALLOON_ARGS);
  args.push('-device', 'virtio-rng-pci,id=rng0');
  return args;
}

/**
 * One virtio-serial controller for the agent's port (when the agent does not use vsock) and
 * the debug console's. The console is a port even beside vsock: one way in to test, and the
 * shim, not the host's vsock, decides who reaches it.
 */
function serialPortArgs(spec: QemuLaunchSpec): string[] {
  const ports = [
    ...(spec.agent.kind === 'serial' ? [{ id: 'char-agent', path: spec.agent.socketPath, name: AGENT_SERIAL_PORT }] : []),
    ...(spec.debugConsole ? [{ id: 'char-debug-console', path: spec.debugConsole.socketPath, name: spec.debugConsole.portName }] : []),
  ];
  if (ports.length === 0) return [];
  return [
    '-device', 'virtio-serial-pci,id=serial0',
    ...ports.flatMap((p) => [
      '-chardev', `socket,id=${p.id},path=${p.path},server=on,wait=off`,
      '-device', `virtserialport,bus=serial0.0,chardev=${p.id},name=${p.name}`,
    ]),
  ];
}

/** As Kata's govmm spells it: HMP is `-monitor`, the QMP flavours are their own flags. */
function monitorArgs(protocol: MonitorProtocol, socketPath: string): string[] {
  return [protocol === 'hmp' ? '-monitor' : `-${protocol}`, `unix:${socketPath},server=on,wait=off`];
}

/** Our descriptors QEMU must inherit, in the order it sees them from INHERITED_FD_BASE on. */
export function inheritedFds(spec: QemuLaunchSpec): number[] {
  return spec.agent.kind === 'vsock' && spec.agent.vhostFd !== undefined ? [spec.agent.vhostFd] : [];
}

/** A tap netdev and its virtio-net device; `romfile=` because the guest boots without PXE. */
function nicArgs(nic: NicSpec, i: number): string[] {
  const id = `network-${i}`;
  return [
    '-netdev', `tap,id=${id},ifname=${nic.tap},script=no,downscript=no,vhost=${nic.vhost ? 'on' : 'off'}`,
    '-device', `virtio-net-pci,netdev=${id},mac=${nic.mac},host_mtu=${nic.mtu},romfile=`,
  ];
}

export interface QemuCommand {
  readonly file: string;
  readonly args: string[];
  /** Our descriptors to pass as QEMU's fd 3, 4, ... (see INHERITED_FD_BASE). */
  readonly inheritFds: number[];
}

/**
 * Under TCG QEMU runs the guest's code itself, so it is CPU-bound from boot on, and several
 * VMs booting on few cores preempt one another at every wakeup and lose their caches:
 * SCHED_BATCH (`chrt --batch 0`) lets each run its full slice. Measured on 2 cores, 5 pods
 * started at once: QEMU's CPU time per pod 7.1-7.7 s -> 5.7-5.9 s (5.3-5.5 s for one pod
 * alone, unchanged), all five up in 16.8-17.1 s instead of 19.0-20.3 s.
 */
const TCG_SCHEDULING = ['chrt', '--batch', '0'];

/**
 * What to exec: QEMU itself, or QEMU entered into the pod's network namespace first, under
 * TCG through chrt. nsenter with only --net and chrt both exec without forking, so the pid
 * is QEMU's and the inherited descriptors reach QEMU unchanged.
 */
export function qemuCommand(spec: QemuLaunchSpec): QemuCommand {
  const args = qemuArgs(spec);
  const inheritFds = inheritedFds(spec);
  const [file, ...rest] = [...(spec.accel === 'tcg' ? TCG_SCHEDULING : []), spec.qemuPath, ...args];
  if (!spec.netns) return { file: file!, args: rest, inheritFds };
  return { file: 'nsenter', args: [`--net=${spec.netns}`, '--', file!, ...rest], inheritFds };
}
