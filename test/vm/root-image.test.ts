// The guest's root image on the real guest, both ways: mapped as an NVDIMM and mounted
// with DAX (the default), and on virtio-blk (disable_image_nvdimm = true). Each VM runs the
// agent (node) from that root; a container that bind-mounts the guest's / shows how it is
// mounted, whether the free-page-reporting balloon is bound, and that the NVDIMM is not RAM.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxVm } from '../../src/sandbox/sandbox-vm.js';
import { GUEST_SHARED_DIR } from '../../src/sandbox/shared-fs.js';
import { makeBusyboxRootfs, ociSpec } from '../guest/busybox-bundle.js';
import { bootGuest, type Guest } from './guest.js';
import { waitUntil } from '../support/wait.js';
import { parseKeyValues } from '../../src/procfs/process.js';

/**
 * What a container sees of the guest: its root mount line, the balloon driver's devices,
 * MemTotal, and how the agent was started (its command line, from the guest's own /proc).
 */
const PROBE = [
  "grep ' /guest-root ' /proc/mounts",
  'echo balloon: $(ls /sys/bus/virtio/drivers/virtio_balloon 2>/dev/null | grep virtio)',
  "grep MemTotal /proc/meminfo",
  "echo agent: $(for f in /guest-proc/[0-9]*/cmdline; do tr '\\0' ' ' <$f; echo; done | grep -m1 '^/usr/bin/node ')",
].join('; ');

interface GuestView {
  readonly rootMount: string[];
  readonly balloonDevices: string;
  readonly memTotalMiB: number;
  readonly agentCommand: string;
}

async function bootAndProbe(qemu: { nvdimm: boolean; reclaim: boolean }): Promise<{ guest: Guest; view: GuestView }> {
  const guest = await bootGuest('it-root', { qemuExtra: `disable_image_nvdimm = ${!qemu.nvdimm}`, reclaimGuestFreedMemory: qemu.reclaim });
  // A plain (non-recursive) bind of the guest's / shows the root filesystem's own mount options.
  const out = await guest.run(PROBE, [
    { destination: '/guest-root', type: 'bind', source: '/', options: ['bind', 'ro'] },
    { destination: '/guest-proc', type: 'bind', source: '/proc', options: ['rbind', 'ro'] },
  ]);
  const lines = out.split('\n');
  return {
    guest,
    view: {
      rootMount: lines[0]!.split(' '),
      balloonDevices: lines[1]!.replace(/^balloon:\s*/, ''),
      memTotalMiB: Number(/MemTotal:\s+(\d+)/.exec(lines[2]!)![1]) / 1024,
      agentCommand: lines[3]!.replace(/^agent:\s*/, '').trim(),
    },
  };
}

/** VmRSS of a process in MiB: QEMU's guest RAM is a shared memfd, counted there too. */
function qemuRssMiB(pid: number): number {
  return parseKeyValues(readFileSync(`/proc/${pid}/status`, 'utf8')).get('VmRSS')!.value / 1024;
}

/** Writes 64 MiB into the guest's tmpfs and deletes it; returns QEMU's RSS with it written. */
async function runFiller(vm: SandboxVm, dir: string): Promise<number> {
  mkdirSync(join(dir, 'shared/filler/rootfs'), { recursive: true });
  makeBusyboxRootfs(join(dir, 'shared/filler/rootfs'));
  const fill = ociSpec(`${GUEST_SHARED_DIR}/filler/rootfs`, ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>/dev/null; echo written; read _; rm /dev/shm/fill']);
  await vm.agent.createContainer({ containerId: 'filler', spec: fill });
  await vm.agent.startContainer('filler');
  // Its only output, once the file is written; it then waits for stdin to close.
  expect(Buffer.from(await vm.agent.readStdout('filler', 'filler', 64)).toString()).toBe('written\n');
  const peak = qemuRssMiB(vm.hypervisor.pid!);
  await vm.agent.closeStdin('filler', 'filler');
  expect(await vm.agent.waitProcess('filler', 'filler')).toBe(0);
  await vm.agent.removeContainer('filler');
  return peak;
}

describe('the root image on the real guest', () => {
  let guest: Guest | undefined;

  afterEach(async () => {
    await guest?.stop();
    guest = undefined;
  });

  it('boots from the NVDIMM with a DAX root, and the balloon reports free pages', async () => {
    const booted = await bootAndProbe({ nvdimm: true, reclaim: true });
    guest = booted.guest;
    const vm = guest.vm;
    const [device, , fstype, options] = booted.view.rootMount;
    expect(device).toBe('/dev/pmem0');
    expect(fstype).toBe('ext4');
    expect(options!.split(',')).toEqual(expect.arrayContaining(['ro', 'dax=always']));
    expect(booted.view.balloonDevices).toMatch(/^virtio\d+$/);
    // The agent started from the V8 startup snapshot the image build made.
    expect(booted.view.agentCommand).toBe('/usr/bin/node --snapshot-blob /usr/lib/kata-agent/kata-agent.blob');
    // The 128 MiB image is device memory, not RAM: the guest and the hypervisor count 512 MiB.
    expect(booted.view.memTotalMiB).toBeLessThan(512);
    expect(booted.view.memTotalMiB).toBeGreaterThan(400);
    expect(vm.hypervisor.resources()).toEqual({ vcpus: 1, memoryMiB: 512 });
    await vm.agent.check();

    // What the guest frees goes back to the host: fill 64 MiB of tmpfs, delete it, and
    // QEMU's resident memory falls again (free page reporting, 2 MiB blocks at a time).
    const peak = await runFiller(vm, guest.dir);
    const rss = (): number => qemuRssMiB(vm.hypervisor.pid!);
    await waitUntil(() => rss() <= peak - 24, { what: () => `QEMU's RSS to fall 24 MiB below ${peak} MiB (now ${rss()} MiB)`, timeoutMs: 60_000, intervalMs: 500 });
  }, 180_000);

  it('falls back to virtio-blk without DAX when disable_image_nvdimm = true, without a balloon', async () => {
    const booted = await bootAndProbe({ nvdimm: false, reclaim: false });
    guest = booted.guest;
    const vm = guest.vm;
    const [device, , fstype, options] = booted.view.rootMount;
    expect(device).toBe('/dev/vda1');
    expect(fstype).toBe('ext4');
    expect(options!.split(',')).toContain('ro');
    expect(options).not.toContain('dax');
    expect(booted.view.balloonDevices).toBe('');
    expect(vm.hypervisor.resources()).toEqual({ vcpus: 1, memoryMiB: 512 });
    await vm.agent.check();
  }, 120_000);
});
