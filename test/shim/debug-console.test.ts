// `kata-runtime exec` end to end without QEMU: the CLI's exec, the shim's management socket
// and its upgrade, the sandbox's gate, the host's console client, and on the far side of a
// unix socket standing in for QEMU's chardev, the guest agent's console session with the
// host's busybox telnetd and /bin/sh.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { execDebugConsole, type TerminalIo } from '../../src/cli/exec.js';
import { parseConfig } from '../../src/config/index.js';
import { consoleSession } from '../../src/guest/debug-console.js';
import { createLogger } from '../../src/log/logger.js';
import type { ShimContext, TaskService } from '../../src/shim/shim-context.js';
import { createTaskService } from '../../src/shim/task-service.js';
import { consoleRefusalStatus, consoleRequestFromUrl } from '../../src/shim/debug-console-endpoint.js';
import { Code } from '../../src/errors/index.js';
import { FAKE_QEMU_TOML, FakeVmFactory, SLEEP_SPEC } from '../sandbox/fake-vm.js';
import { memoryLogger, type LogLine } from '../support/log-lines.js';
import { waitUntil } from '../support/wait.js';

const CONFIG = FAKE_QEMU_TOML;
const ENABLED = `${CONFIG}\n[agent.kata]\ndebug_console_enabled = true\n`;
const SPEC = SLEEP_SPEC;
const SB = 'sb-console';

/** A terminal without a tty: what the user pipes in, and everything printed. */
function pipes(input?: string): TerminalIo & { printed: () => string } {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let printed = '';
  stdout.on('data', (d: Buffer) => (printed += d.toString()));
  if (input !== undefined) stdin.end(input);
  return { stdin, stdout, term: 'vt100', printed: () => printed };
}

describe('kata-runtime exec through the shim', () => {
  let dir: string;
  let service: TaskService;
  let guest: net.Server;
  let guestConnections: number;
  let lines: LogLine[];

  async function start(config: string): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), 'console-'));
    const vms = new FakeVmFactory();
    vms.debugConsoleSocket = join(dir, 'debug-console.sock');
    guestConnections = 0;
    const guestLog = createLogger({ level: 'silent' });
    guest = net.createServer((s) => {
      guestConnections++;
      consoleSession(s, { telnetd: ['busybox', 'telnetd'], shell: '/bin/sh', log: guestLog });
    });
    await new Promise<void>((r) => guest.listen(vms.debugConsoleSocket!, r));
    const mem = memoryLogger('debug');
    lines = mem.lines;
    const ctx: ShimContext = { flags: {} as ShimContext['flags'], bundle: dir, namespace: 'default', id: SB, ttrpcAddress: '', log: mem.log, requestShutdown: () => undefined };
    service = createTaskService(ctx, {
      config: async () => parseConfig(config, '/test/configuration.toml', { cpus: 2, memoryMiB: 8192 }),
      sandbox: { boot: vms.boot, sharedRoot: join(dir, 'shared'), vmRoot: join(dir, 'vm'), stateRoot: join(dir, 'state') },
      cgroupMode: 'v1',
    });
    const bundle = join(dir, 'bundle');
    mkdirSync(join(bundle, 'rootfs'), { recursive: true });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(SPEC));
    const create = service.handlers.Create as unknown as (r: object) => Promise<unknown>;
    await create({ id: SB, bundle, rootfs: [], stdin: '', stdout: '', stderr: '', terminal: false });
  }

  afterEach(async () => {
    await service?.dispose?.();
    await new Promise((r) => guest?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const exec = (t: TerminalIo, id = SB) => execDebugConsole(id, t, join(dir, 'state'));

  it('runs piped commands in the guest shell and returns once it exits', async () => {
    await start(ENABLED);
    const t = pipes('echo from-guest-$((6*7)); exit\n');
    await exec(t);
    expect(t.printed()).toContain('from-guest-42\r\n');
    expect(lines.find((l) => l.msg === 'debug console session opened')).toMatchObject({ level: 'info', sandbox: SB, component: 'debug-console', rows: 0, cols: 0 });
    await waitUntil(() => lines.some((l) => l.msg === 'debug console session closed'), { what: 'the session to be logged closed' });
    expect(lines.find((l) => l.msg === 'debug console session closed')).toMatchObject({ level: 'info', shellExited: true });
  });

  it('ends the shell when piped input ends without exit, and serves one session after another', async () => {
    await start(ENABLED);
    const first = pipes('echo first\n');
    await exec(first);
    expect(first.printed()).toContain('first\r\n');
    const second = pipes('echo second; exit\n');
    await exec(second);
    expect(second.printed()).toContain('second\r\n');
    expect(guestConnections).toBe(2);
  });

  it('refuses a second session while one is open, saying so', async () => {
    await start(ENABLED);
    const held = pipes();
    const session = exec(held);
    await waitUntil(() => held.printed().length > 0, { what: 'the first shell\'s prompt' });
    await expect(exec(pipes('exit\n'))).rejects.toThrow(`sandbox ${SB}: a debug console session is already open`);
    expect(lines.find((l) => l.msg === 'debug console refused')).toMatchObject({ level: 'warn', code: 'ALREADY_EXISTS' });
    (held.stdin as PassThrough).end('exit\n');
    await session;
  });

  it('without debug_console_enabled: refuses with how to enable it, and never touches the guest', async () => {
    await start(CONFIG);
    await expect(exec(pipes('uname -r; exit\n'))).rejects.toThrow(
      `sandbox ${SB}: the debug console is not enabled; set debug_console_enabled = true in [agent.kata] of /test/configuration.toml`,
    );
    expect(guestConnections).toBe(0);
    expect(lines.find((l) => l.msg === 'debug console refused')).toMatchObject({ level: 'warn', code: 'PERMISSION_DENIED', sandbox: SB });
  });

  it('names a sandbox that is not running, and refuses an id that is not one', async () => {
    await start(ENABLED);
    await expect(exec(pipes(''), 'no-such-sandbox')).rejects.toThrow(/no running sandbox has this id/);
    await expect(exec(pipes(''), '../etc')).rejects.toThrow('invalid sandbox id "../etc"');
  });
});

describe('debug console endpoint (pure parts)', () => {
  it('reads the client terminal from the query, ignoring what it cannot use', () => {
    expect(consoleRequestFromUrl('/debug-console?rows=40&cols=120&term=xterm')).toEqual({ rows: 40, cols: 120, term: 'xterm' });
    expect(consoleRequestFromUrl('/debug-console?rows=-3&cols=abc&term=a%20b')).toEqual({ rows: 0, cols: 0, term: 'vt100' });
  });

  it('maps refusals to statuses a client can tell apart', () => {
    expect(consoleRefusalStatus(Code.PERMISSION_DENIED)).toBe(403);
    expect(consoleRefusalStatus(Code.ALREADY_EXISTS)).toBe(409);
    expect(consoleRefusalStatus(Code.DEADLINE_EXCEEDED)).toBe(504);
    expect(consoleRefusalStatus(Code.INTERNAL)).toBe(500);
  });
});
