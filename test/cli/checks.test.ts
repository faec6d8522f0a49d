import { describe, expect, it } from 'vitest';
import { runChecks, sandboxCanStart, type CheckResult } from '../../src/cli/checks.js';
import { parseConfig, type KataConfig } from '../../src/config/index.js';
import { fakeProbes, KVM_OK, KVM_PARAVIRT, MISSING, NO_KVM, type FakeProbeOptions } from './fake-io.js';

const FILE = '/etc/kata-containers/configuration.toml';

function config(qemuLines = ''): KataConfig {
  return parseConfig(`[hypervisor.qemu]\n${qemuLines}\n`, FILE, { cpus: 2, memoryMiB: 4096 });
}

async function check(qemuLines: string, probes: FakeProbeOptions): Promise<CheckResult[]> {
  return runChecks(config(qemuLines), fakeProbes(probes));
}

const named = (results: CheckResult[], name: string): CheckResult | undefined => results.find((r) => r.name === name);

describe('runChecks: accelerator', () => {
  it('auto uses kvm when /dev/kvm opens and the CPU has vmx/svm', async () => {
    const r = await check('accel = "auto"', { kvm: KVM_OK });
    expect(named(r, 'accel')).toMatchObject({ status: 'ok', detail: expect.stringContaining('accel = "auto" uses kvm') });
  });

  it('auto falls back to tcg on a para-virtual KVM (like the project machines), as a warning', async () => {
    const r = await check('accel = "auto"', { kvm: KVM_PARAVIRT });
    expect(named(r, 'accel')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/no vmx\/svm.*accel = "auto" uses tcg/),
    });
    expect(sandboxCanStart(r)).toBe(true);
  });

  it('an explicit kvm that cannot work fails', async () => {
    const r = await check('accel = "kvm"', { kvm: NO_KVM });
    expect(named(r, 'accel')).toMatchObject({ status: 'fail', detail: expect.stringContaining('/dev/kvm is missing') });
    expect(sandboxCanStart(r)).toBe(false);
  });

  it('an explicit tcg is fine without kvm', async () => {
    expect(named(await check('accel = "tcg"', { kvm: NO_KVM }), 'accel')?.status).toBe('ok');
  });
});

describe('runChecks: binaries and guest files', () => {
  it('a missing or mute QEMU fails', async () => {
    expect(named(await check('', { files: { '/usr/bin/qemu-system-x86_64': MISSING } }), 'qemu')).toEqual({
      name: 'qemu',
      status: 'fail',
      detail: '/usr/bin/qemu-system-x86_64: not found',
    });
    const mute = await check('', { version: { ok: false, error: 'qemu --version failed: no answer within 5s' } });
    expect(named(mute, 'qemu')?.status).toBe('fail');
  });

  it('virtiofsd is required only for virtio-fs', async () => {
    const gone = { files: { '/usr/lib/qemu/virtiofsd': MISSING } };
    expect(named(await check('', gone), 'virtiofsd')?.status).toBe('fail');
    expect(named(await check('shared_fs = "none"', gone), 'virtiofsd')).toMatchObject({
      status: 'ok',
      detail: 'not needed (shared_fs = "none")',
    });
  });

  it('a missing vhost-vsock is a warning: virtio-serial carries the agent channel', async () => {
    expect(named(await check('', { vhostVsock: false }), 'vsock')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('virtio-serial fallback in use'),
    });
  });

  it('fails only when neither initrd nor image is readable', async () => {
    const initrd = '/usr/share/kata-containers/kata-containers-initrd.img';
    const image = '/usr/share/kata-containers/kata-containers.img';
    const oneGone = await check('', { files: { [initrd]: MISSING } });
    expect(named(oneGone, 'initrd')?.status).toBe('warn');
    expect(named(oneGone, 'image')?.status).toBe('ok');
    expect(sandboxCanStart(oneGone)).toBe(true);
    const bothGone = await check('', { files: { [initrd]: MISSING, [image]: MISSING } });
    expect(bothGone.filter((r) => r.status === 'fail').map((r) => r.name)).toEqual(['initrd', 'image']);
    const onlyImage = await check('initrd = ""', {});
    expect(named(onlyImage, 'initrd')).toBeUndefined();
  });
});
