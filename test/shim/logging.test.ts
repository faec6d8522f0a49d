// What the shim logs, from a run of the real task service and sandbox over a fake VM: one
// line per event that matters (the boot with its timing, each hotplug with its reason, each
// refusal), debug lines only when containerd's -debug or [runtime] enable_debug asks, and the
// guest console only with [hypervisor.qemu] enable_debug, at debug level.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Level } from '../../src/log/logger.js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Code, RuntimeError } from '../../src/errors/index.js';
import { ConsoleLines, MAX_CONSOLE_LINE } from '../../src/sandbox/console-watcher.js';
import type { SandboxVm, VmBootOptions } from '../../src/sandbox/sandbox-vm.js';
import type { ShimContext, TaskService } from '../../src/shim/shim-context.js';
import { createTaskService } from '../../src/shim/task-service.js';
import { FAKE_QEMU_TOML, FakeVmFactory, SLEEP_SPEC } from '../sandbox/fake-vm.js';
import { memoryLogger, type LogLine } from '../support/log-lines.js';
import { waitUntil } from '../support/wait.js';

const QEMU = FAKE_QEMU_TOML.replace('default_maxvcpus = 4', 'default_maxvcpus = 16');
const NAMESPACES = SLEEP_SPEC.linux.namespaces;
const spec = (namespaces = NAMESPACES) => ({ ...SLEEP_SPEC, linux: { namespaces } });
const SB = 'sb-log';

type Call = (req: object) => Promise<unknown>;

describe('shim log lines', () => {
  let dir: string;
  let service: TaskService | undefined;
  let lines: LogLine[];
  let vms: FakeVmFactory;

  /** `level`: the shim's level from containerd (-debug → debug). */
  function start(config: string, o: { level?: Level; boot?: (b: VmBootOptions) => Promise<SandboxVm> } = {}): Record<string, Call> {
    dir = mkdtempSync(join(tmpdir(), 'shim-log-'));
    vms = new FakeVmFactory();
    const mem = memoryLogger(o.level ?? 'info');
    lines = mem.lines;
    const ctx: ShimContext = { flags: {} as ShimContext['flags'], bundle: dir, namespace: 'default', id: SB, ttrpcAddress: '', log: mem.log, requestShutdown: () => undefined };
    service = createTaskService(ctx, {
      config: async () => parseConfig(config, '/test/configuration.toml', { cpus: 2, memoryMiB: 8192 }),
      sandbox: { boot: o.boot ?? vms.boot, sharedRoot: join(dir, 'shared'), vmRoot: join(dir, 'vm'), stateRoot: join(dir, 'state') },
      monitor: false,
      cgroupMode: 'v1',
    });
    return service.handlers as unknown as Record<string, Call>;
  }

  const bundle = (id: string, namespaces?: object[]): string => {
    const b = join(dir, id);
    mkdirSync(join(b, 'rootfs'), { recursive: true });
    writeFileSync(join(b, 'config.json'), JSON.stringify(spec(namespaces as typeof NAMESPACES)));
    return b;
  };
  const createReq = (id: string, namespaces?: object[]) => ({ id, bundle: bundle(id, namespaces), rootfs: [], stdin: '', stdout: '', stderr: '', terminal: false });
  const cpu = (cpus: number) => ({ type_url: 'x', value: Buffer.from(JSON.stringify({ cpu: { quota: cpus * 100_000, period: 100_000 }, memory: { limit: 256 * 1024 * 1024 } })) });
  const named = (msg: string): LogLine[] => lines.filter((l) => l.msg === msg);

  afterEach(async () => {
    await service?.dispose?.();
    service = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs the boot with its timing, once, and no debug lines at info level', async () => {
    const h = start(QEMU);
    await h.Create!(createReq(SB));
    const booted = named('sandbox booted');
    expect(booted).toHaveLength(1);
    expect(booted[0]).toMatchObject({ level: 'info', sandbox: SB, vcpus: 1, memoryMiB: 512, agentChannel: 'serial', debugConsole: false, vmBootMs: 1, hypervisorMs: 0, agentMs: 1 });
    expect(booted[0]!.bootMs).toEqual(expect.any(Number));
    expect(lines.filter((l) => l.level === 'debug')).toEqual([]);
  });

  it('logs each hotplug with what triggered it and why, a shortfall as a warning', async () => {
    const h = start(QEMU);
    await h.Create!(createReq(SB));
    await h.Update!({ id: SB, resources: cpu(1.5) });
    expect(named('vcpus hotplugged')).toEqual([
      expect.objectContaining({ level: 'info', container: SB, resource: 'vcpus', from: 1, to: 3, target: 3, trigger: 'container updated', reason: 'ceil(default_vcpus 1 + containers 1.5) = 3' }),
    ]);
    expect(named('memory hotplugged')).toEqual([
      expect.objectContaining({ level: 'info', resource: 'memory', from: 512, to: 768, target: 768, reason: 'default_memory 512 MiB + containers 256 MiB in 128 MiB blocks = 768 MiB' }),
    ]);
    // Nothing to change: nothing logged.
    const count = lines.length;
    await h.Update!({ id: SB, resources: cpu(1.5) });
    expect(lines.slice(count).filter((l) => l.resource !== undefined)).toEqual([]);
    // The fake VM stops at 8 vCPUs (its maxcpus) where the containers want 10: a warning, and
    // again at each later attempt that cannot reach the target.
    await h.Update!({ id: SB, resources: cpu(9) });
    expect(named('vcpus hotplugged').at(-1)).toMatchObject({ level: 'warn', from: 3, to: 8, target: 10, limitedBy: 'maxcpus 8' });
    await h.Update!({ id: SB, resources: cpu(9) });
    expect(named('vcpus not resized')).toEqual([expect.objectContaining({ level: 'warn', from: 8, to: 8, target: 10, limitedBy: 'maxcpus 8' })]);
  });

  it('logs each refused request with method, ids, code and reason; a failed boot as an error with its time', async () => {
    const h = start(QEMU);
    await h.Create!(createReq(SB));
    await expect(h.Start!({ id: 'nope', execId: '' })).rejects.toThrow();
    expect(named('request refused')).toEqual([
      expect.objectContaining({ level: 'warn', method: 'Start', container: 'nope', code: 'NOT_FOUND', err: 'container nope: not found' }),
    ]);
    await expect(h.Create!(createReq('c-host', NAMESPACES.filter((n) => n.type !== 'network')))).rejects.toThrow(/host networking/);
    expect(named('request refused').at(-1)).toMatchObject({ method: 'Create', container: 'c-host', code: 'INVALID_ARGUMENT' });

    await service!.dispose!();
    const failing = start(QEMU, {
      boot: async () => {
        throw new RuntimeError(Code.UNAVAILABLE, 'the VM exited before its agent answered: qemu exited with code 1');
      },
    });
    await expect(failing.Create!(createReq(SB))).rejects.toThrow(/before its agent answered/);
    expect(named('sandbox boot failed')).toEqual([expect.objectContaining({ level: 'error', sandbox: SB, err: expect.stringContaining('qemu exited'), elapsedMs: expect.any(Number) })]);
    expect(named('request failed')).toEqual([expect.objectContaining({ level: 'error', method: 'Create', code: 'UNAVAILABLE' })]);
  });

  it('[runtime] enable_debug raises the shim to debug once the configuration is read', async () => {
    const h = start(`${QEMU}\n[runtime]\nenable_debug = true\n`);
    await h.Create!(createReq(SB));
    expect(named('log level debug: [runtime] enable_debug')).toEqual([expect.objectContaining({ level: 'info', configFile: '/test/configuration.toml' })]);
    expect(named('sandbox sizing')).toEqual([expect.objectContaining({ level: 'debug', sandbox: SB })]);
  });

  it('[hypervisor.qemu] enable_debug: every guest console line at debug, followed until the VM is gone', async () => {
    const h = start(QEMU.replace('default_maxvcpus = 16', 'default_maxvcpus = 16\nenable_debug = true'));
    const consoleLog = join(dir, 'console.log');
    writeFileSync(consoleLog, '[    0.000000] Linux version 6.1.0\r\n{"level":"info","msg":"kata agent started"}\n');
    vms.consolePath = consoleLog;
    await h.Create!(createReq(SB));
    const guest = (): unknown[] => named('reading guest console').map((l) => l.vmconsole);
    await waitUntil(() => guest().length === 2, { what: 'the console lines written before boot' });
    appendFileSync(consoleLog, 'later line\nno newline yet');
    await waitUntil(() => guest().length === 3, { what: 'a line written after boot' });
    await service!.dispose!(); // the VM stops: the unfinished line is logged too
    await waitUntil(() => guest().length === 4, { what: 'the last, unfinished line' });
    expect(guest()).toEqual(['[    0.000000] Linux version 6.1.0', '{"level":"info","msg":"kata agent started"}', 'later line', 'no newline yet']);
    expect(named('reading guest console').every((l) => l.level === 'debug' && l.sandbox === SB)).toBe(true);
    // Only the hypervisor's lines are promoted: the shim itself stays at info.
    expect(named('sandbox sizing')).toEqual([]);
  });

  it('never reads the guest console without [hypervisor.qemu] enable_debug, even with containerd at debug', async () => {
    const h = start(QEMU, { level: 'debug' });
    const consoleLog = join(dir, 'console.log');
    writeFileSync(consoleLog, 'kernel line\n');
    vms.consolePath = consoleLog;
    await h.Create!(createReq(SB));
    await service!.dispose!();
    expect(named('sandbox sizing')).toHaveLength(1); // -debug shows the shim's debug lines
    expect(named('reading guest console')).toEqual([]);
  });
});

describe('ConsoleLines', () => {
  it('splits on newlines, drops carriage returns and empty lines, keeps an unfinished line', () => {
    const c = new ConsoleLines();
    expect(c.push('a\r\nb')).toEqual(['a']);
    expect(c.push('c\n\n\nd')).toEqual(['bc']);
    expect(c.flush()).toEqual(['d']);
    expect(c.flush()).toEqual([]);
  });

  it('cuts an endless line', () => {
    const c = new ConsoleLines();
    const out = c.push('x'.repeat(MAX_CONSOLE_LINE * 2 + 10));
    expect(out).toHaveLength(1);
    expect(out[0]).toHaveLength(MAX_CONSOLE_LINE);
  });
});
