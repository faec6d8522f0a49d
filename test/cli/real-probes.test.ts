// Runs `kata-runtime check` against this machine: QEMU is installed, the kernel is not.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processCliIo } from '../../src/cli/cli-io.js';
import { main } from '../../src/cli/main.js';

const QEMU = '/usr/bin/qemu-system-x86_64';

describe('kata-runtime check with the real host probes', () => {
  let dir: string;
  let configFile: string;
  let kernel: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kata-check-'));
    kernel = join(dir, 'no-such-vmlinux');
    const image = join(dir, 'root.img');
    writeFileSync(image, 'not really an image');
    configFile = join(dir, 'configuration.toml');
    writeFileSync(
      configFile,
      `[hypervisor.qemu]\npath = "${QEMU}"\nkernel = "${kernel}"\ninitrd = ""\nimage = "${image}"\nshared_fs = "none"\n`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds QEMU and its version, and fails on the missing kernel (exit 1)', async () => {
    expect(existsSync(QEMU), `${QEMU} is installed by .ci`).toBe(true);
    let out = '';
    let err = '';
    const io = { ...processCliIo(), stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t) };
    const code = await main([`--kata-config=${configFile}`, 'check'], io);
    expect(err).toBe('');
    expect(code).toBe(1);
    expect(out).toMatch(/^ok {3}qemu: \/usr\/bin\/qemu-system-x86_64: QEMU emulator version \d+\.\d+/m);
    expect(out).toContain(`FAIL kernel: ${kernel}: not found`);
    expect(out).toMatch(/^(ok  |WARN) accel: /m);
    expect(out).toMatch(/^(ok  |WARN) vsock: /m);
    expect(out).toMatch(/^ok {3}image: .*root\.img: readable$/m);
  });
});
