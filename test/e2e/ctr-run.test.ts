// containerd 1.6 runs containers in VMs through our shim: ctr run, exec, kill, exit codes,
// and nothing left behind afterwards.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { Containerd } from '../support/containerd.js';
import { waitUntil } from '../support/wait.js';
import { startKataEnv, RUNTIME, type KataEnv } from './kata-env.js';

/** What the e2e sandboxes of this file may leave on the host. */
function leftovers(): { qemu: string[]; virtiofsd: string[]; shims: string[]; mounts: string[]; sandboxDirs: string[] } {
  const ps = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n');
  return {
    qemu: ps.filter((l) => l.includes('qemu-system') && l.includes('sandbox-e2e')),
    virtiofsd: ps.filter((l) => l.includes('virtiofsd') && l.includes('/run/kata-containers/shared/sandboxes/e2e')),
    shims: ps.filter((l) => l.includes('containerd-shim-kata-v2') && l.includes(' -id e2e')),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes('/run/kata-containers/shared/sandboxes/e2e')),
    sandboxDirs: existsSync('/run/vc/sbs') ? readdirSync('/run/vc/sbs').filter((d) => d.startsWith('e2e')) : [],
  };
}
const isClean = (l: ReturnType<typeof leftovers>): boolean => Object.values(l).every((found) => found.length === 0);

describe('ctr run with the kata runtime', () => {
  let env: KataEnv;
  let cd: Containerd;
  let image: string;

  beforeAll(async () => {
    env = await startKataEnv();
    ({ cd, image } = env);
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  it('prints the output of a container that runs in its own VM', async () => {
    const r = await cd.ctr(['run', '--rm', '--runtime', RUNTIME, image, 'e2e-hello', 'sh', '-c', 'echo hello; uname -r'], { timeoutMs: 90_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [hello, release] = r.stdout.trim().split('\n');
    expect(hello).toBe('hello');
    expect(release).toMatch(/^6\.1\.0-\S+-cloud-amd64$/);
    expect(release).not.toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
  }, 120_000);

  it('passes the exit code through: sh -c "exit 3" makes ctr exit 3', async () => {
    const r = await cd.ctr(['run', '--rm', '--runtime', RUNTIME, image, 'e2e-exit', 'sh', '-c', 'exit 3'], { timeoutMs: 90_000 });
    expect(r.code).toBe(3);
  }, 120_000);

  it('refuses --net-host with a clear message', async () => {
    const r = await cd.ctr(['run', '--rm', '--net-host', '--runtime', RUNTIME, image, 'e2e-nethost', 'true'], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('host networking (--net-host) is not supported by VM sandboxes');
  }, 90_000);

  it('leaves no QEMU, virtiofsd, shim, mount or state directory behind', async () => {
    // `ctr run --rm` returns once the task is deleted; the shim and its VM may still be on
    // their way out.
    await waitUntil(() => isClean(leftovers()), {
      what: () => `the e2e sandboxes to leave nothing behind; still there: ${JSON.stringify(leftovers())}`,
      timeoutMs: 15_000,
      intervalMs: 100,
    });
  }, 30_000);
});
