// The VM follows the pod's cgroup limits: ctr's --cpus and --memory-limit size the guest,
// and kata-runtime explains the decision from the running sandbox.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startContainerd, type Containerd } from '../support/containerd.js';
import { importBusybox } from '../support/images.js';
import { testVmConfig } from '../vm/vm-config.js';

const DIST = join(import.meta.dirname, '../../dist');
const RUNTIME = 'io.containerd.kata.v2';

describe('sandbox sizing through containerd', () => {
  let dir: string;
  let cd: Containerd;
  let image: string;
  const id = `e2e-size-${process.pid}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-size-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(join(DIST, 'containerd-shim-kata-v2.cjs'), join(bin, 'containerd-shim-kata-v2'));
    await testVmConfig(dir, { defaultMaxVcpus: 4 });
    cd = await startContainerd({ extraPath: [bin], env: { KATA_CONF_FILE: join(dir, 'configuration.toml') } });
    image = await importBusybox(cd);
  }, 120_000);

  afterAll(async () => {
    await cd?.ctr(['task', 'kill', '-s', 'KILL', id]).catch(() => undefined);
    await cd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--cpus 1.5 and --memory-limit 512 MiB: default_vcpus + 2 CPUs online, MemTotal grows by 512 MiB', async () => {
    const plain = await cd.ctr(['run', '--rm', '--runtime', RUNTIME, image, `${id}-plain`, 'grep', 'MemTotal', '/proc/meminfo'], { timeoutMs: 90_000 });
    expect(plain.code).toBe(0);
    const baseKiB = Number(/(\d+)/.exec(plain.stdout)![1]);

    const r = await cd.ctrOk(['run', '-d', '--runtime', RUNTIME, '--cpus', '1.5', '--memory-limit', String(512 * 1024 * 1024), image, id, 'sleep', '1000'], { timeoutMs: 90_000 });
    expect(r).toBe('');
    const out = await cd.ctrOk(['task', 'exec', '--exec-id', 'probe', id, 'sh', '-c', 'nproc; grep MemTotal /proc/meminfo'], { timeoutMs: 60_000 });
    const [nproc, mem] = out.trim().split('\n');
    expect(nproc).toBe('3');
    expect(Number(/(\d+)/.exec(mem!)![1]) - baseKiB).toBeGreaterThanOrEqual(512 * 1024);
  }, 240_000);

  it('kata-runtime sandbox-sizing explains the size of the running sandbox', () => {
    const text = execFileSync('node', [join(DIST, 'kata-runtime.mjs'), 'sandbox-sizing', id], { encoding: 'utf8' });
    expect(text).toContain(`sandbox ${id}: 3 vCPUs`);
    expect(text).toContain('vCPUs = ceil(default_vcpus 1 + containers 1.5) = 3');
    expect(text).toContain(`${id}: 1.5 CPU (quota 150000 / period 100000)`);
    expect(text).toContain('containers 512 MiB rounded up to 128 MiB blocks (512) = 1024 MiB');
  }, 30_000);
});
