// `kata-runtime exec <sandbox>` opens a shell in a running pod's VM (real containerd, shim
// and QEMU, the guest from build/guest) when debug_console_enabled is set: once with pipes,
// once on a terminal (util-linux script), both in the same VM.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../support/run-command.js';
import { waitUntil } from '../support/wait.js';
import { GUEST_DIR } from '../vm/vm-config.js';
import { RUNTIME, startKataEnv, type KataEnv } from './kata-env.js';

const CLI = join(import.meta.dirname, '../../dist/kata-runtime.mjs');
const SB = `e2e-console-${process.pid}`;
/** The guest kernel's release, as its module tree is named; the host runs another kernel. */
const GUEST_KERNEL = readdirSync(join(GUEST_DIR, 'modules/lib/modules'))[0]!;

describe('kata-runtime exec: the debug console of a running pod', () => {
  let env: KataEnv;

  beforeAll(async () => {
    // enable_debug in [hypervisor.qemu] too: the shim then logs the guest console (checked below).
    env = await startKataEnv({ extra: 'debug_console_enabled = true', qemuExtra: 'enable_debug = true' });
    await env.cd.ctrOk(['run', '-d', '--runtime', RUNTIME, env.image, SB, 'sleep', '1000'], { timeoutMs: 120_000 });
  }, 180_000);

  afterAll(async () => {
    await env?.stop([SB]);
  }, 120_000);

  it('runs `uname -r` in the guest with piped input and prints the guest kernel', async () => {
    expect(GUEST_KERNEL).toMatch(/^\d+\.\d+\./);
    const r = await runCommand('node', [CLI, 'exec', SB], { input: 'uname -r; exit\n', timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${GUEST_KERNEL}\r\n`);
    // The shim logged the session, through containerd's log FIFO.
    await waitUntil(() => env.cd.logs().includes('"msg":"debug console session closed"'), { what: 'the shim to log the session', timeoutMs: 10_000 });
    expect(env.cd.logs()).toMatch(/"component":"debug-console".*"msg":"debug console session opened"/);
  }, 90_000);

  it('the shim logged the boot once, with its timing, in containerd\'s log', () => {
    const booted = env.cd
      .logs()
      .split('\n')
      .flatMap((l) => {
        const at = l.indexOf('{"level"');
        return at >= 0 && l.includes('"msg":"sandbox booted"') ? [JSON.parse(l.slice(at)) as Record<string, unknown>] : [];
      });
    expect(booted).toHaveLength(1);
    expect(booted[0]).toMatchObject({ level: 'info', sandbox: SB, debugConsole: true, agentChannel: 'serial' });
    for (const key of ['bootMs', 'vmBootMs', 'hypervisorMs', 'agentMs']) expect(booted[0]![key]).toEqual(expect.any(Number));
  });

  it('[hypervisor.qemu] enable_debug: the guest console\'s lines are in the shim log, at debug', async () => {
    const consoleLines = (): Record<string, unknown>[] =>
      env.cd
        .logs()
        .split('\n')
        .filter((l) => l.includes('"msg":"reading guest console"'))
        .map((l) => JSON.parse(l.slice(l.indexOf('{"level"'))) as Record<string, unknown>);
    await waitUntil(() => consoleLines().some((l) => String(l.vmconsole).includes('kata agent started')), { what: 'the agent\'s start line from the console', timeoutMs: 10_000 });
    expect(consoleLines().every((l) => l.level === 'debug' && l.sandbox === SB)).toBe(true);
  });

  it('on a terminal: raw while it runs, the guest kernel printed, the terminal restored after', async () => {
    // `stty -a` after exec shows the terminal exec leaves behind: canonical mode and echo again.
    const r = await runCommand('script', ['-qec', `node ${CLI} exec ${SB}; stty -a`, '/dev/null'], { input: 'uname -r; exit\n', timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    // The local terminal, raw, still maps the guest's \r\n (Node keeps ONLCR).
    expect(r.stdout).toMatch(new RegExp(`\\n${GUEST_KERNEL.replace(/\./g, '\\.')}\\r+\\n`));
    const settings = r.stdout.slice(r.stdout.lastIndexOf('speed'));
    expect(settings).toMatch(/(^|\s)icanon(\s|$)/);
    expect(settings).toMatch(/(^|\s)echo(\s|$)/);
  }, 90_000);
});
