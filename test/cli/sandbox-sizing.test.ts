import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { explainSizing } from '../../src/cli/sandbox-sizing.js';
import { parseArgs } from '../../src/cli/args.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import type { SizingReport } from '../../src/sandbox/sandbox.js';
import { computeSizing } from '../../src/sandbox/sizing.js';
import { monitorSocketPath, startMonitorServer } from '../../src/shim/monitor-server.js';

const MiB = 1024 * 1024;
const target = computeSizing({ defaultVcpus: 1, maxVcpus: 2, defaultMemoryMiB: 2048, maxMemoryMiB: 8192, memoryBlockMiB: 128 }, [
  { id: 'web', resources: { quota: 150000, period: 100000, memoryLimitBytes: 300 * MiB } },
  { id: 'sidecar', resources: {} },
]);
const report: SizingReport = {
  sandboxId: 'sb1',
  mode: 'dynamic',
  current: { vcpus: 2, memoryMiB: 2432 },
  config: { defaultVcpus: 1, defaultMaxVcpus: 2 },
  static: null,
  target,
  lastResize: { vcpus: { current: 2, limitedBy: 'maxcpus 2 (default_maxvcpus)' }, memoryMiB: { current: 2432 } },
};

describe('explainSizing', () => {
  it('says where every vCPU and MiB comes from, and which cap applied', () => {
    const text = explainSizing(report);
    expect(text).toContain('sandbox sb1: 2 vCPUs, 2432 MiB');
    expect(text).toContain('vCPUs = ceil(default_vcpus 1 + containers 1.5) = 3, capped to 2 by default_maxvcpus = 2');
    expect(text).toContain('web: 1.5 CPU (quota 150000 / period 100000)');
    expect(text).toContain('sidecar: no CPU limit (adds nothing)');
    expect(text).toContain('memory = default_memory 2048 MiB + containers 300 MiB rounded up to 128 MiB blocks (384) = 2432 MiB');
    expect(text).toContain('hotplug stopped at 2 vCPUs: maxcpus 2 (default_maxvcpus)');
  });
});

describe('kata-runtime sandbox-sizing', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  function io(stateRoot: string): CliIo & { out: string; err: string } {
    const o = { out: '', err: '' };
    return Object.assign(o, {
      stdout: (t: string) => void (o.out += t),
      stderr: (t: string) => void (o.err += t),
      env: {},
      probes: undefined as never,
      defaultConfigPaths: [],
      runtimePath: 'kata-runtime',
      sandboxStateRoot: stateRoot,
    });
  }

  it('asks the running sandbox over its management socket (text and --json)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sbs-'));
    dirs.push(root);
    mkdirSync(join(root, 'sb1'));
    const server = await startMonitorServer(monitorSocketPath('sb1', root), {
      sizingReport: () => report,
      agentUrl: () => 'serial:///x',
      metrics: async () => '',
      metadata: () => ({ sandboxId: 'sb1' }),
      debugConsole: () => Promise.reject(new Error('no debug console in this test')),
    });
    try {
      const text = io(root);
      expect(await main(['sandbox-sizing', 'sb1'], text)).toBe(0);
      expect(text.out).toContain('capped to 2 by default_maxvcpus');
      const json = io(root);
      expect(await main(['sandbox-sizing', '--json', 'sb1'], json)).toBe(0);
      expect(JSON.parse(json.out)).toEqual(JSON.parse(JSON.stringify(report)));
    } finally {
      await server.close();
    }
    expect(existsSync(monitorSocketPath('sb1', root))).toBe(false);
  });

  it('fails clearly for a sandbox that does not run, and needs an id', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sbs-'));
    dirs.push(root);
    const x = io(root);
    expect(await main(['sandbox-sizing', 'nope'], x)).toBe(1);
    expect(x.err).toContain('no running sandbox has this id');
    expect(parseArgs(['sandbox-sizing'])).toEqual({ kind: 'usage-error', message: 'sandbox-sizing needs a sandbox id' });
  });
});
