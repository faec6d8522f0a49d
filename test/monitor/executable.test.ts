// The kata-monitor process: flags, a fake shim scraped through it, SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePromText } from '../../src/metrics/prom-text.js';
import { startKataMonitor, type RunningMonitor } from '../support/kata-monitor.js';
import { startFakeShim, type FakeShim } from './fake-shim.js';

const SOURCE = { binary: join(import.meta.dirname, '../../shim/kata-monitor.ts'), nodeArgs: ['--import', 'tsx'] };

describe('kata-monitor executable', () => {
  let root: string;
  let shim: FakeShim;
  let monitor: RunningMonitor;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'sbs-'));
    shim = await startFakeShim(root, 'pod-x', { metrics: '# TYPE kata_shim_threads gauge\nkata_shim_threads 9\n' });
    monitor = await startKataMonitor({ ...SOURCE, args: ['--sandboxes-dir', root, '--runtime-endpoint', '/run/containerd/containerd.sock'] });
  });

  afterAll(async () => {
    await monitor?.stop();
    await shim?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the sandboxes it finds under --sandboxes-dir', async () => {
    const res = await monitor.get('/metrics');
    expect(res.status).toBe(200);
    const threads = parsePromText(res.body).find((f) => f.name === 'kata_shim_threads');
    expect(threads?.samples).toEqual([{ name: 'kata_shim_threads', labels: { sandbox_id: 'pod-x' }, value: 9 }]);
    expect((await monitor.get('/sandboxes')).body).toBe('pod-x\n');
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await monitor.stop()).toBe(0);
  });

  it('exits 2 with the usage on a bad flag, 1 when it cannot listen', async () => {
    const run = (args: string[]): { code: number; stderr: string } => {
      try {
        execFileSync(process.execPath, [...SOURCE.nodeArgs, SOURCE.binary, ...args], { stdio: 'pipe', encoding: 'utf8' });
        return { code: 0, stderr: '' };
      } catch (e) {
        const err = e as { status: number; stderr: string };
        return { code: err.status, stderr: err.stderr };
      }
    };
    const bad = run(['--listen-address', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected host:port[\s\S]*Usage: kata-monitor/);
    expect(run(['--listen-address', '203.0.113.1:1']).code).toBe(1);
  });
});
