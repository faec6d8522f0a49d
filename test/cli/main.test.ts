import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DEFAULT_CONFIG_PATHS } from '../../src/config/index.js';
import { fakeIo, fakeProbes, KVM_PARAVIRT, MISSING } from './fake-io.js';

let dir: string;
let configFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kata-cli-'));
  configFile = join(dir, 'configuration.toml');
  writeFileSync(
    configFile,
    [
      '[hypervisor.qemu]',
      'path = "/usr/bin/qemu-system-x86_64"',
      'kernel = "/guest/vmlinux"',
      'initrd = "/guest/initrd.img"',
      'image = "/guest/root.img"',
      'kernel_params = "console=hvc0"',
      'accel = "tcg"',
      'default_memory = 512',
      'default_maxvcpus = 4',
      '[agent.kata]',
      'kernel_modules = ["virtio_blk"]',
      '[runtime]',
      'static_sandbox_resource_mgmt = true',
    ].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kata-runtime: global options', () => {
  it('--kata-show-default-config-paths prints the lookup paths, one per line', async () => {
    const io = fakeIo({ defaultConfigPaths: [...DEFAULT_CONFIG_PATHS] });
    expect(await main(['--kata-show-default-config-paths'], io)).toBe(0);
    expect(io.out()).toBe(
      '/etc/kata-containers/configuration.toml\n/usr/share/defaults/kata-containers/configuration.toml\n',
    );
  });

  it('--version, -v and help', async () => {
    for (const argv of [['--version'], ['-v'], ['version']]) {
      const io = fakeIo();
      expect(await main(argv, io)).toBe(0);
      expect(io.out()).toMatch(/^kata-runtime {2}: \d+\.\d+\.\d+/);
    }
    const io = fakeIo();
    expect(await main(['help'], io)).toBe(0);
    expect(io.out()).toContain('Usage: kata-runtime');
    expect(io.out()).toContain('check (kata-check)');
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['--frobnicate'], 'unknown option --frobnicate'],
    [['env', '--yaml'], 'unknown option --yaml for command env'],
    [['check', 'extra'], 'unexpected argument "extra" for command check'],
    [['--kata-config'], 'option --kata-config needs a value'],
  ])('usage error for %j: exit 2, naming it', async (argv, message) => {
    const io = fakeIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(`kata-runtime: ${message}`);
    expect(io.out()).toBe('');
  });

  it('reports a missing configuration with the paths it tried (exit 1)', async () => {
    const io = fakeIo();
    expect(await main(['check'], io)).toBe(1);
    expect(io.err()).toContain('no configuration file found: tried /nonexistent/etc/configuration.toml');
  });

  it('takes the file from --kata-config=PATH, --kata-config PATH, --config or KATA_CONF_FILE', async () => {
    for (const [argv, env] of [
      [[`--kata-config=${configFile}`, 'env', '--json'], {}],
      [['--kata-config', configFile, 'env', '--json'], {}],
      [['env', '--json', '--config', configFile], {}],
      [['env', '--json'], { KATA_CONF_FILE: configFile }],
    ] as const) {
      const io = fakeIo({ env });
      expect(await main(argv, io)).toBe(0);
      expect(JSON.parse(io.out()).Runtime.Config.Path).toBe(configFile);
    }
  });
});

describe('kata-runtime env', () => {
  it('prints TOML that parses back and carries the configuration and host facts', async () => {
    const io = fakeIo({ probes: fakeProbes({ kvm: KVM_PARAVIRT, vhostVsock: false }) });
    expect(await main([`--kata-config=${configFile}`, 'env'], io)).toBe(0);
    const env = parse(io.out()) as Record<string, Record<string, unknown>>;
    expect(env['Hypervisor']).toMatchObject({
      Path: '/usr/bin/qemu-system-x86_64',
      Version: 'QEMU emulator version 7.2.22',
      Accel: 'tcg',
      AccelInUse: 'tcg',
      DefaultMemoryMiB: 512,
      DefaultMaxVCPUs: 4,
      MachineType: 'q35',
    });
    expect(env['Kernel']).toEqual({ Path: '/guest/vmlinux', Parameters: 'console=hvc0' });
    expect(env['Initrd']).toEqual({ Path: '/guest/initrd.img' });
    expect(env['Image']).toEqual({ Path: '/guest/root.img' });
    expect(env['Agent']).toMatchObject({ KernelModules: ['virtio_blk'], DialTimeoutSec: 45 });
    expect(env['Runtime']).toMatchObject({ StaticSandboxResourceMgmt: true, Config: { Path: configFile } });
    expect(env['Host']).toMatchObject({
      Kernel: '6.1.0-test',
      Architecture: 'amd64',
      CPU: { CPUs: 2 },
      Memory: { TotalMiB: 4096, AvailableMiB: 3000 },
      KVM: { DevicePresent: true, Openable: true, HardwareVirtualization: false, Usable: false },
      VMContainerCapable: false,
      SupportVSocks: false,
    });
  });

  it('prints the same data as JSON with --json', async () => {
    const tomlIo = fakeIo();
    const jsonIo = fakeIo();
    await main([`--kata-config=${configFile}`, 'env'], tomlIo);
    expect(await main([`--kata-config=${configFile}`, 'kata-env', '--json'], jsonIo)).toBe(0);
    const fromToml = JSON.parse(JSON.stringify(parse(tomlIo.out())));
    expect(JSON.parse(jsonIo.out())).toEqual(fromToml);
  });

  it('reports "unknown" when the hypervisor does not answer --version', async () => {
    const io = fakeIo({ probes: fakeProbes({ version: { ok: false, error: 'boom' } }) });
    await main([`--kata-config=${configFile}`, 'env', '--json'], io);
    expect(JSON.parse(io.out()).Hypervisor.Version).toBe('unknown');
  });
});

describe('kata-runtime check', () => {
  it('all checks pass -> exit 0, one line per check', async () => {
    const io = fakeIo();
    expect(await main([`--kata-config=${configFile}`, 'check'], io)).toBe(0);
    // The configuration's own WARN line is covered below.
    const lines = io.out().trimEnd().split('\n').filter((l) => !l.startsWith('WARN config:'));
    expect(lines).toEqual([
      'ok   qemu: /usr/bin/qemu-system-x86_64: QEMU emulator version 7.2.22',
      expect.stringMatching(/^ok {3}accel: kvm available but accel = "tcg" uses tcg/),
      'ok   vsock: /dev/vhost-vsock present: the agent can be reached over vsock',
      'ok   virtiofsd: /usr/lib/qemu/virtiofsd: executable',
      'ok   kernel: /guest/vmlinux: readable',
      'ok   initrd: /guest/initrd.img: readable',
      'ok   image: /guest/root.img: readable',
      `kata-runtime: a sandbox can start with ${configFile}`,
    ]);
  });

  it('a missing kernel -> exit 1 with a line naming the kernel path', async () => {
    const io = fakeIo({ probes: fakeProbes({ files: { '/guest/vmlinux': MISSING } }) });
    expect(await main([`--kata-config=${configFile}`, 'check'], io)).toBe(1);
    expect(io.out()).toContain('FAIL kernel: /guest/vmlinux: not found\n');
    expect(io.out()).toContain('a sandbox cannot start: 1 check(s) failed');
  });

  it('--log PATH appends JSON log lines: the loaded file, its warnings, the failure', async () => {
    const logFile = join(dir, 'kata-runtime.log');
    const io = fakeIo({ probes: fakeProbes({ files: { '/guest/vmlinux': MISSING } }) });
    expect(await main([`--log=${logFile}`, `--kata-config=${configFile}`, 'check'], io)).toBe(1);
    const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.level, l.msg.split(':')[0]])).toEqual([
      ['info', 'loaded configuration'],
      ['warn', configFile],
      ['error', 'check failed'],
    ]);
    expect(lines[0]).toMatchObject({ name: 'kata-runtime', command: 'check', file: configFile });
  });

  it('prints configuration warnings as WARN lines', async () => {
    const io = fakeIo();
    expect(await main([`--kata-config=${configFile}`, 'check'], io)).toBe(0);
    // default_maxvcpus = 4 on a 2-CPU host is kept but reported.
    expect(io.out()).toContain(`WARN config: ${configFile}: [hypervisor.qemu] default_maxvcpus = 4`);
  });
});
