import { describe, it, expect } from 'vitest';
import {
  INHERITED_FD_BASE,
  qemuArgs,
  qemuCommand,
  guestKernelParams,
  type QemuLaunchSpec,
} from '../../src/hypervisor/qemu/command-line.js';
import { NVDIMM_IMAGE_ALIGN_BYTES, qemuLaunchSpec, rootImage, useVhostNet, type FileSize } from '../../src/hypervisor/qemu/launch-spec.js';
import { QEMU_DEFAULTS } from '../../src/config/defaults.js';
import { agentKernelParams } from '../../src/agent/kernel-params.js';
import { Code, RuntimeError } from '../../src/errors/index.js';

const MIB = 1024 * 1024;
/** A 128 MiB root image, whatever path is asked about: launch specs never touch the disk here. */
const imageOf128MiB: FileSize = () => 128 * MIB;

const spec: QemuLaunchSpec = {
  qemuPath: '/usr/bin/qemu-system-x86_64',
  name: 'sb1',
  machineType: 'q35',
  accel: 'tcg',
  vcpus: 1,
  maxVcpus: 4,
  memoryMiB: 512,
  memorySlots: 10,
  maxMemoryMiB: 8192,
  kernel: '/k/vmlinux',
  initrd: '/k/initrd.img',
  rootImage: { via: 'virtio-blk', path: '/k/root.img' },
  kernelParams: ['console=ttyS0', 'quiet'],
  sharedFs: { socketPath: '/run/vm/fs.sock', tag: 'kataShared', queueSize: 1024 },
  agent: { kind: 'serial', socketPath: '/run/vm/kata.sock' },
  qmpSocket: '/run/vm/qmp.sock',
  consoleLog: '/run/vm/console.log',
  pidFile: '/run/vm/pid',
};

/** The value following each occurrence of `flag`. */
const values = (args: string[], flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

describe('qemuArgs', () => {
  it('sizes the VM for hotplug: smp with maxcpus, memory with slots and maxmem', () => {
    const args = qemuArgs(spec);
    expect(values(args, '-smp')).toEqual(['1,cores=1,threads=1,sockets=4,maxcpus=4']);
    expect(values(args, '-m')).toEqual(['512M,slots=10,maxmem=8192M']);
    expect(values(args, '-machine')).toEqual(['q35']);
    expect(values(args, '-cpu')).toEqual(['max']);
  });

  it('names the accelerator with its own -accel and leaves TCG\'s translation cache at QEMU\'s size unless bounded', () => {
    const args = qemuArgs(spec);
    expect(values(args, '-accel')).toEqual(['tcg']);
    expect(args.join(' ')).not.toContain('accel=');
    expect(args.join(' ')).not.toContain('tb-size');
  });

  it('bounds TCG\'s translation cache only with every vCPU on one TCG thread', () => {
    // A bounded multi-threaded cache makes vCPU hotplug abort QEMU 7.2 once the cache is full.
    const args = qemuArgs({ ...spec, tcgTbSizeMiB: 64 });
    expect(values(args, '-accel')).toEqual(['tcg,thread=single,tb-size=64']);
    expect(args.join(' ')).not.toContain('accel=');
  });

  it('uses the host CPU model under KVM, no tb-size, and appends cpu features and machine accelerators', () => {
    const args = qemuArgs({ ...spec, accel: 'kvm', tcgTbSizeMiB: 64, cpuFeatures: 'pmu=off', machineAccelerators: 'kernel_irqchip=on' });
    expect(values(args, '-cpu')).toEqual(['host,pmu=off']);
    expect(values(args, '-machine')).toEqual(['q35,kernel_irqchip=on']);
    expect(values(args, '-accel')).toEqual(['kvm']);
    expect(args.join(' ')).not.toContain('tb-size');
  });

  it('boots kernel, initrd and a read-only root image on virtio-blk', () => {
    const args = qemuArgs(spec);
    expect(values(args, '-kernel')).toEqual(['/k/vmlinux']);
    expect(values(args, '-initrd')).toEqual(['/k/initrd.img']);
    expect(values(args, '-drive')).toEqual(['file=/k/root.img,if=none,id=image0,format=raw,readonly=on']);
    expect(values(args, '-device')).toContain('virtio-blk-pci,drive=image0,id=image-device0');
    expect(values(args, '-append')).toEqual(['console=ttyS0 quiet']);
    expect(args.join(' ')).not.toContain('nvdimm');
    const noImage = qemuArgs({ ...spec, rootImage: undefined, initrd: undefined });
    expect(noImage).not.toContain('-drive');
    expect(noImage).not.toContain('-initrd');
    expect(noImage.join(' ')).not.toContain('nvdimm');
  });

  describe('the root image as an NVDIMM', () => {
    const nv = { ...spec, rootImage: { via: 'nvdimm', path: '/k/root.img', sizeBytes: 128 * MIB } } as const;

    it('maps the image file read-only into an unarmed NVDIMM, with the machine\'s NFIT', () => {
      const args = qemuArgs(nv);
      expect(values(args, '-machine')).toEqual(['q35,nvdimm=on']);
      expect(values(args, '-object')).toContain(`memory-backend-file,id=mem0,mem-path=/k/root.img,size=${128 * MIB},readonly=on`);
      expect(values(args, '-device')).toContain('nvdimm,id=nv0,memdev=mem0,unarmed=on');
      expect(args).not.toContain('-drive');
      expect(args.join(' ')).not.toContain('virtio-blk');
    });

    it('gives the NVDIMM a slot and room of its own, so DIMM hotplug keeps memory_slots and maxmem', () => {
      expect(values(qemuArgs(nv), '-m')).toEqual(['512M,slots=11,maxmem=8320M']);
      // A size that is not whole MiB still fits.
      const odd = { ...nv, rootImage: { ...nv.rootImage, sizeBytes: 128 * MIB + 1 } };
      expect(values(qemuArgs(odd), '-m')).toEqual(['512M,slots=11,maxmem=8321M']);
    });

    it('keeps machine accelerators after nvdimm=on, and boot RAM the shared memfd', () => {
      const args = qemuArgs({ ...nv, machineAccelerators: 'kernel_irqchip=on' });
      expect(values(args, '-machine')).toEqual(['q35,nvdimm=on,kernel_irqchip=on']);
      expect(values(args, '-object')).toContain('memory-backend-memfd,id=ram0,size=512M,share=on');
      expect(values(args, '-numa')).toEqual(['node,memdev=ram0']);
    });
  });

  it('adds a free-page-reporting balloon only when reclaiming guest-freed memory', () => {
    const balloon = 'virtio-balloon-pci,id=balloon0,deflate-on-oom=on,free-page-reporting=on';
    expect(values(qemuArgs({ ...spec, reclaimGuestFreedMemory: true }), '-device')).toContain(balloon);
    expect(qemuArgs({ ...spec, reclaimGuestFreedMemory: false }).join(' ')).not.toContain('balloon');
    expect(qemuArgs(spec).join(' ')).not.toContain('balloon');
  });

  it('shares memory as a memfd and adds vhost-user-fs for virtio-fs', () => {
    const args = qemuArgs(spec);
    expect(values(args, '-object')).toEqual(['memory-backend-memfd,id=ram0,size=512M,share=on']);
    expect(values(args, '-numa')).toEqual(['node,memdev=ram0']);
    expect(values(args, '-device')).toContain('vhost-user-fs-pci,chardev=char-fs0,tag=kataShared,queue-size=1024');
    const noFs = qemuArgs({ ...spec, sharedFs: undefined });
    expect(noFs).not.toContain('-numa');
    expect(noFs.join(' ')).not.toContain('vhost-user-fs');
  });

  it('carries the agent over virtio-serial or vhost-vsock', () => {
    const serial = qemuArgs(spec);
    expect(values(serial, '-chardev')).toContain('socket,id=char-agent,path=/run/vm/kata.sock,server=on,wait=off');
    expect(values(serial, '-device')).toContain('virtserialport,bus=serial0.0,chardev=char-agent,name=agent.channel.0');
    const vsock = qemuArgs({ ...spec, agent: { kind: 'vsock', cid: 7, vhostFd: 3 } });
    expect(values(vsock, '-device')).toContain('vhost-vsock-pci,id=vsock0,guest-cid=7,vhostfd=3');
    expect(vsock.join(' ')).not.toContain('virtserialport');
  });

  it('adds the debug console port only when asked, beside the agent\'s port or alone beside vsock', () => {
    const debugConsole = { socketPath: '/run/vm/debug-console.sock', portName: 'agent.debug_console.0' };
    const consolePort = 'virtserialport,bus=serial0.0,chardev=char-debug-console,name=agent.debug_console.0';
    const consoleChardev = 'socket,id=char-debug-console,path=/run/vm/debug-console.sock,server=on,wait=off';
    // Without debug_console_enabled nothing in the VM could carry a console.
    expect(qemuArgs(spec).join(' ')).not.toContain('debug');
    const serial = qemuArgs({ ...spec, debugConsole });
    expect(values(serial, '-device').filter((d) => d.startsWith('virtio-serial-pci'))).toEqual(['virtio-serial-pci,id=serial0']);
    expect(values(serial, '-device')).toEqual(expect.arrayContaining([consolePort, 'virtserialport,bus=serial0.0,chardev=char-agent,name=agent.channel.0']));
    expect(values(serial, '-chardev')).toContain(consoleChardev);
    const vsock = qemuArgs({ ...spec, agent: { kind: 'vsock', cid: 7 }, debugConsole });
    expect(values(vsock, '-device')).toEqual(expect.arrayContaining(['virtio-serial-pci,id=serial0', consolePort, 'vhost-vsock-pci,id=vsock0,guest-cid=7']));
    expect(vsock.join(' ')).not.toContain('char-agent');
  });

  it('hands our vhost-vsock descriptor to QEMU as its fd 3, whatever its number is here', () => {
    const withFd = { ...spec, agent: { kind: 'vsock', cid: 1234567, vhostFd: 42 } } as const;
    const cmd = qemuCommand(withFd);
    expect(values(cmd.args, '-device')).toContain('vhost-vsock-pci,id=vsock0,guest-cid=1234567,vhostfd=3');
    expect(cmd.inheritFds).toEqual([42]);
    expect(INHERITED_FD_BASE).toBe(3);
    // Through nsenter too: it execs QEMU, so the descriptor arrives unchanged.
    expect(qemuCommand({ ...withFd, netns: '/run/netns/x' }).inheritFds).toEqual([42]);
    // Without a descriptor QEMU opens /dev/vhost-vsock itself; nothing is inherited.
    const noFd = qemuCommand({ ...spec, agent: { kind: 'vsock', cid: 9 } });
    expect(values(noFd.args, '-device')).toContain('vhost-vsock-pci,id=vsock0,guest-cid=9');
    expect(noFd.inheritFds).toEqual([]);
    expect(qemuCommand(spec).inheritFds).toEqual([]);
  });

  it('adds the extra monitor socket as Kata spells each protocol, next to our own QMP', () => {
    const sock = '/run/vm/extra-monitor.sock';
    const at = (protocol: 'hmp' | 'qmp' | 'qmp-pretty'): string[] => qemuArgs({ ...spec, extraMonitor: { protocol, socketPath: sock } });
    expect(values(at('qmp'), '-qmp')).toEqual(['unix:/run/vm/qmp.sock,server=on,wait=off', `unix:${sock},server=on,wait=off`]);
    expect(values(at('qmp-pretty'), '-qmp-pretty')).toEqual([`unix:${sock},server=on,wait=off`]);
    expect(values(at('hmp'), '-monitor')).toEqual([`unix:${sock},server=on,wait=off`]);
    expect(values(at('hmp'), '-qmp')).toEqual(['unix:/run/vm/qmp.sock,server=on,wait=off']);
    expect(qemuArgs(spec)).not.toContain('-monitor');
    expect(values(qemuArgs(spec), '-qmp')).toHaveLength(1);
  });

  it('controls QEMU over QMP and writes its pid and console where told', () => {
    const args = qemuArgs(spec);
    expect(values(args, '-qmp')).toEqual(['unix:/run/vm/qmp.sock,server=on,wait=off']);
    expect(values(args, '-pidfile')).toEqual(['/run/vm/pid']);
    expect(values(args, '-chardev')).toContain('file,id=console,path=/run/vm/console.log');
    expect(args).toContain('-nodefaults');
  });
});

describe('pod NICs', () => {
  const nic = { tap: 'tap0_kata', mac: '0a:58:0a:58:00:05', mtu: 1450, vhost: false };

  it('gives each tap a virtio-net device with the pod interface MAC and MTU, vhost off', () => {
    const args = qemuArgs({ ...spec, nics: [nic, { ...nic, tap: 'tap1_kata', mac: '0a:58:0a:58:00:06', mtu: 1500 }], netns: '/run/netns/cni-1' });
    expect(values(args, '-netdev')).toEqual([
      'tap,id=network-0,ifname=tap0_kata,script=no,downscript=no,vhost=off',
      'tap,id=network-1,ifname=tap1_kata,script=no,downscript=no,vhost=off',
    ]);
    expect(values(args, '-device')).toContain('virtio-net-pci,netdev=network-0,mac=0a:58:0a:58:00:05,host_mtu=1450,romfile=');
    expect(values(args, '-device')).toContain('virtio-net-pci,netdev=network-1,mac=0a:58:0a:58:00:06,host_mtu=1500,romfile=');
    expect(values(qemuArgs({ ...spec, nics: [{ ...nic, vhost: true }] }), '-netdev')[0]).toContain('vhost=on');
  });

  it('has no NIC without a pod network', () => {
    expect(qemuArgs(spec)).not.toContain('-netdev');
  });

  it('execs QEMU inside the pod network namespace through nsenter, QEMU directly otherwise', () => {
    const kvm = { ...spec, accel: 'kvm' as const };
    expect(qemuCommand(kvm)).toEqual({ file: '/usr/bin/qemu-system-x86_64', args: qemuArgs(kvm), inheritFds: [] });
    const inNs = qemuCommand({ ...kvm, netns: '/var/run/netns/cni-1', nics: [nic] });
    expect(inNs.file).toBe('nsenter');
    expect(inNs.args.slice(0, 3)).toEqual(['--net=/var/run/netns/cni-1', '--', '/usr/bin/qemu-system-x86_64']);
    expect(inNs.args.slice(3)).toEqual(qemuArgs({ ...kvm, netns: '/var/run/netns/cni-1', nics: [nic] }));
  });

  it('runs QEMU under TCG as a batch job (SCHED_BATCH through chrt, which execs it), in the namespace too', () => {
    const cmd = qemuCommand(spec);
    expect(cmd.file).toBe('chrt');
    expect(cmd.args.slice(0, 3)).toEqual(['--batch', '0', '/usr/bin/qemu-system-x86_64']);
    expect(cmd.args.slice(3)).toEqual(qemuArgs(spec));
    const inNs = qemuCommand({ ...spec, netns: '/var/run/netns/cni-1', nics: [nic] });
    expect(inNs.file).toBe('nsenter');
    expect(inNs.args.slice(0, 5)).toEqual(['--net=/var/run/netns/cni-1', '--', 'chrt', '--batch', '0']);
  });

  it('uses vhost-net only under KVM, with /dev/vhost-net, unless disable_vhost_net', () => {
    const inputs = { sandboxId: 's', runDir: '/r', accel: 'kvm' as const, vcpus: 1, maxVcpus: 2, memoryMiB: 256, maxMemoryMiB: 1024, debug: false, vhostNetAvailable: true };
    expect(useVhostNet(QEMU_DEFAULTS, inputs)).toBe(true);
    expect(useVhostNet(QEMU_DEFAULTS, { ...inputs, accel: 'tcg' })).toBe(false);
    expect(useVhostNet(QEMU_DEFAULTS, { ...inputs, vhostNetAvailable: false })).toBe(false);
    expect(useVhostNet({ ...QEMU_DEFAULTS, disableVhostNet: true }, inputs)).toBe(false);
    const launch = qemuLaunchSpec(
      QEMU_DEFAULTS,
      { ...inputs, accel: 'tcg', network: { netns: '/run/netns/x', nics: [{ tap: 'tap0_kata', mac: 'aa:bb:cc:dd:ee:ff', mtu: 1500 }] } },
      imageOf128MiB,
    );
    expect(launch.netns).toBe('/run/netns/x');
    expect(launch.nics).toEqual([{ tap: 'tap0_kata', mac: 'aa:bb:cc:dd:ee:ff', mtu: 1500, vhost: false }]);
  });
});

describe('qemuLaunchSpec', () => {
  const inputs = { sandboxId: 's', runDir: '/run/vc/vm/s', accel: 'tcg' as const, vcpus: 1, maxVcpus: 2, memoryMiB: 256, maxMemoryMiB: 1024, debug: false };

  const launch = (cfg: typeof QEMU_DEFAULTS, inp: typeof inputs & { vsockCid?: number; vhostFd?: number } = inputs) => qemuLaunchSpec(cfg, inp, imageOf128MiB);

  it('puts extra_monitor_socket at <run dir>/extra-monitor.sock, and none by default', () => {
    expect(launch(QEMU_DEFAULTS).extraMonitor).toBeUndefined();
    expect(launch({ ...QEMU_DEFAULTS, extraMonitorSocket: 'qmp' }).extraMonitor).toEqual({
      protocol: 'qmp',
      socketPath: '/run/vc/vm/s/extra-monitor.sock',
    });
  });

  it('bounds TCG\'s translation cache by tcg_tb_size under TCG only; 0 leaves QEMU\'s own', () => {
    expect(launch(QEMU_DEFAULTS).tcgTbSizeMiB).toBeUndefined();
    expect(launch({ ...QEMU_DEFAULTS, tcgTbSizeMiB: 96 }).tcgTbSizeMiB).toBe(96);
    expect(launch({ ...QEMU_DEFAULTS, tcgTbSizeMiB: 96 }, { ...inputs, accel: 'kvm' as never }).tcgTbSizeMiB).toBeUndefined();
  });

  it('uses vhost-vsock with the claimed CID and descriptor, virtio-serial without a CID', () => {
    expect(launch(QEMU_DEFAULTS).agent).toEqual({ kind: 'serial', socketPath: '/run/vc/vm/s/kata.sock' });
    expect(launch(QEMU_DEFAULTS, { ...inputs, vsockCid: 77, vhostFd: 21 }).agent).toEqual({ kind: 'vsock', cid: 77, vhostFd: 21 });
    expect(launch(QEMU_DEFAULTS, { ...inputs, vsockCid: 77 }).agent).toEqual({ kind: 'vsock', cid: 77 });
  });

  it('boots the image as an NVDIMM with a DAX root by default (Kata\'s disable_image_nvdimm = false)', () => {
    const s = launch(QEMU_DEFAULTS);
    expect(s.rootImage).toEqual({ via: 'nvdimm', path: QEMU_DEFAULTS.image, sizeBytes: 128 * MIB });
    expect(s.kernelParams).toEqual(expect.arrayContaining(['root=/dev/pmem0', 'rootflags=dax,errors=remount-ro', 'ro', 'rootfstype=ext4']));
    // The memory the VM is sized and hotplugged with is RAM only: the image is not in it.
    expect(s.memoryMiB).toBe(256);
    expect(s.maxMemoryMiB).toBe(1024);
    expect(s.memorySlots).toBe(QEMU_DEFAULTS.memorySlots);
  });

  it('falls back to virtio-blk with disable_image_nvdimm, without reading the image', () => {
    const s = qemuLaunchSpec({ ...QEMU_DEFAULTS, disableImageNvdimm: true }, inputs, () => {
      throw new Error('must not stat');
    });
    expect(s.rootImage).toEqual({ via: 'virtio-blk', path: QEMU_DEFAULTS.image });
    expect(s.kernelParams).toContain('root=/dev/vda1');
    expect(s.kernelParams.join(' ')).not.toContain('dax');
  });

  it('has no root image and no root parameters when image is ""', () => {
    const s = launch({ ...QEMU_DEFAULTS, image: '' });
    expect(s.rootImage).toBeUndefined();
    expect(s.kernelParams.some((p) => p.startsWith('root'))).toBe(false);
  });

  it('gives the debug console a socket in the run directory only with a port name, and places the agent\'s parameters', () => {
    expect(launch(QEMU_DEFAULTS).debugConsole).toBeUndefined();
    const s = qemuLaunchSpec(
      { ...QEMU_DEFAULTS, kernelParams: 'user=1' },
      { ...inputs, debugConsolePort: 'agent.debug_console.0', agentKernelParams: ['agent.log=debug', 'agent.debug_console'] },
      imageOf128MiB,
    );
    expect(s.debugConsole).toEqual({ socketPath: '/run/vc/vm/s/debug-console.sock', portName: 'agent.debug_console.0' });
    expect(s.kernelParams.slice(-3)).toEqual(['agent.log=debug', 'agent.debug_console', 'user=1']);
  });

  it('passes reclaim_guest_freed_memory through to the balloon', () => {
    expect(launch({ ...QEMU_DEFAULTS, reclaimGuestFreedMemory: true }).reclaimGuestFreedMemory).toBe(true);
    expect(launch({ ...QEMU_DEFAULTS, reclaimGuestFreedMemory: false }).reclaimGuestFreedMemory).toBe(false);
  });
});

describe('rootImage', () => {
  const cfg = { ...QEMU_DEFAULTS, image: '/i/root.img' };

  it('reads the NVDIMM size from the image file', () => {
    expect(rootImage(cfg, () => 256 * MIB)).toEqual({ via: 'nvdimm', path: '/i/root.img', sizeBytes: 256 * MIB });
    expect(NVDIMM_IMAGE_ALIGN_BYTES).toBe(128 * MIB);
  });

  it('refuses an image the guest could not map with DAX, and says what to do', () => {
    for (const size of [0, 122 * MIB, 128 * MIB + 4096]) {
      const err = (() => {
        try {
          return rootImage(cfg, () => size);
        } catch (e) {
          return e;
        }
      })() as RuntimeError;
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.message).toContain(`/i/root.img is ${size} bytes, not a multiple of 128 MiB`);
      expect(err.message).toContain('disable_image_nvdimm = true');
    }
  });

  it('names a missing image file', () => {
    expect(() => rootImage({ ...cfg, image: '/nonexistent/root.img' })).toThrow('qemu: image /nonexistent/root.img does not exist');
  });
});

describe('guestKernelParams', () => {
  it('orders Kata defaults, root, console, limits, then configured params last', () => {
    const p = guestKernelParams({ debug: false, maxVcpus: 4, root: 'virtio-blk', tscKhz: 2500000, extra: ['foo=1', 'tsc=unstable'] });
    expect(p).toContain('tsc_early_khz=2500000');
    expect(p).toContain('root=/dev/vda1');
    expect(p).toContain('nr_cpus=4');
    expect(p).toContain('quiet');
    expect(p.slice(-2)).toEqual(['foo=1', 'tsc=unstable']);
    expect(p.indexOf('tsc=reliable')).toBeLessThan(p.indexOf('tsc=unstable'));
  });

  it('adds debug output and drops root params without an image', () => {
    const p = guestKernelParams({ debug: true, maxVcpus: 2, extra: [] });
    expect(p).toContain('debug');
    expect(p).not.toContain('quiet');
    // The hypervisor's enable_debug is the kernel's; the agent's log level is [agent.kata]'s (Kata).
    expect(p.some((x) => x.startsWith('agent.'))).toBe(false);
    expect(p.some((x) => x.startsWith('root='))).toBe(false);
    expect(p.some((x) => x.startsWith('tsc_early_khz'))).toBe(false);
  });
});

describe('guestKernelParams root', () => {
  it('mounts the NVDIMM\'s ext4 with DAX, read-only', () => {
    const p = guestKernelParams({ debug: false, maxVcpus: 1, root: 'nvdimm', extra: [] });
    expect(p.filter((x) => x.startsWith('root') || x === 'ro')).toEqual(['root=/dev/pmem0', 'rootflags=dax,errors=remount-ro', 'ro', 'rootfstype=ext4']);
  });

  it('mounts partition 1 of the virtio-blk disk without DAX', () => {
    const p = guestKernelParams({ debug: false, maxVcpus: 1, root: 'virtio-blk', extra: [] });
    expect(p.filter((x) => x.startsWith('root') || x === 'ro')).toEqual(['root=/dev/vda1', 'rootflags=errors=remount-ro', 'ro', 'rootfstype=ext4']);
  });

  it('lets configured kernel_params override the root (they come last)', () => {
    const p = guestKernelParams({ debug: false, maxVcpus: 1, root: 'nvdimm', extra: ['root=/dev/vda1'] });
    expect(p.at(-1)).toBe('root=/dev/vda1');
  });
});

describe('agentKernelParams', () => {
  it('names Kata\'s agent parameters for enable_debug and debug_console_enabled, nothing by default', () => {
    expect(agentKernelParams({ debug: false, debugConsole: false })).toEqual([]);
    expect(agentKernelParams({ debug: true, debugConsole: false })).toEqual(['agent.log=debug']);
    expect(agentKernelParams({ debug: false, debugConsole: true })).toEqual(['agent.debug_console']);
  });
});
