// A configuration.toml for tests that boot the project's guest under QEMU (TCG here):
// small memory, room for CPU hotplug, the guest from build/guest.
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type KataConfig } from '../../src/config/index.js';

export const GUEST_DIR = join(import.meta.dirname, '../../build/guest');

export function guestBuilt(): boolean {
  return ['vmlinux', 'initrd.img', 'rootfs.img'].every((f) => existsSync(join(GUEST_DIR, f)));
}

export interface TestVmConfig {
  dialTimeoutSec?: number;
  defaultMemoryMiB?: number;
  defaultMaxVcpus?: number;
  memorySlots?: number;
  kernelParams?: string;
  /** Free page reporting, as the shipped configuration has it; default true. */
  reclaimGuestFreedMemory?: boolean;
  /** TOML lines added to [hypervisor.qemu]. */
  qemuExtra?: string;
  /** TOML appended at the end (after [agent.kata]). */
  extra?: string;
}

export async function testVmConfig(dir: string, o: TestVmConfig = {}): Promise<KataConfig> {
  const path = join(dir, 'configuration.toml');
  writeFileSync(
    path,
    `[hypervisor.qemu]
path = "/usr/bin/qemu-system-x86_64"
kernel = "${GUEST_DIR}/vmlinux"
initrd = "${GUEST_DIR}/initrd.img"
image = "${GUEST_DIR}/rootfs.img"
kernel_params = "${o.kernelParams ?? '8250.nr_uarts=1 i8042.nomux'}"
default_vcpus = 1
default_maxvcpus = ${o.defaultMaxVcpus ?? 4}
default_memory = ${o.defaultMemoryMiB ?? 512}
memory_slots = ${o.memorySlots ?? 10}
shared_fs = "virtio-fs"
virtio_fs_daemon = "/usr/lib/qemu/virtiofsd"
valid_virtio_fs_daemon_paths = ["/usr/lib/qemu/virtiofsd"]
reclaim_guest_freed_memory = ${o.reclaimGuestFreedMemory ?? true}
${o.qemuExtra ?? ''}

[agent.kata]
dial_timeout = ${o.dialTimeoutSec ?? 60}
${o.extra ?? ''}
`,
  );
  return loadConfig({ path });
}
