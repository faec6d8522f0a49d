import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

const SHIPPED = new URL('../../config/configuration.toml', import.meta.url).pathname;

describe('config/configuration.toml', () => {
  it('loads without warnings', async () => {
    const c = await loadConfig({ path: SHIPPED, host: { cpus: 2, memoryMiB: 4096 } });
    expect(c.warnings).toEqual([]);
    expect(c.hypervisor).toMatchObject({
      path: '/usr/bin/qemu-system-x86_64',
      kernel: '/usr/share/kata-containers/vmlinux.container',
      initrd: '/usr/share/kata-containers/kata-containers-initrd.img',
      image: '/usr/share/kata-containers/kata-containers.img',
      sharedFs: 'virtio-fs',
      virtioFsDaemon: '/usr/lib/qemu/virtiofsd',
      kernelParams: '',
      accel: 'auto',
      defaultMemoryMiB: 2048,
      defaultMaxVcpus: 2,
      memorySlots: 10,
    });
    expect(c.hypervisor.validVirtioFsDaemonPaths).toEqual(['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd']);
    expect(c.agent.dialTimeoutSec).toBe(45);
  });

  it('explains every key in a comment line just above it', () => {
    const lines = readFileSync(SHIPPED, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^[a-z_]+ = /.test(line)) expect(lines[i - 1], `comment for ${line}`).toMatch(/^# \S/);
    });
  });
});
