// kata-monitor against fake shim sockets: discovery, labels, merging, a shim that hangs or
// writes garbage, a pod that goes away. Milliseconds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log/logger.js';
import { parsePromText, type MetricFamily } from '../../src/metrics/prom-text.js';
import { KataMonitor } from '../../src/monitor/kata-monitor.js';
import { startMonitorHttp, type MonitorHttpServer } from '../../src/monitor/server.js';
import { startFakeShim, type FakeShim } from './fake-shim.js';

const log = createLogger({ level: 'silent' });

const shimText = (memTotal: number): string =>
  `# HELP kata_shim_threads Kata containerd shim v2 process threads.\n# TYPE kata_shim_threads gauge\nkata_shim_threads 12\n` +
  `# HELP kata_guest_meminfo Statistics about memory usage in the system.\n# TYPE kata_guest_meminfo gauge\nkata_guest_meminfo{item="mem_total"} ${memTotal}\nkata_guest_meminfo{item="mem_free"} 1000\n`;

const CRI = { sandboxId: 'pod-a', cri: { uid: '6f1c', name: 'web', namespace: 'shop' } };

function get(address: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    request({ host, port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    })
      .on('error', reject)
      .end();
  });
}

const samples = (fams: MetricFamily[], name: string) => fams.find((f) => f.name === name)?.samples ?? [];
const only = (fams: MetricFamily[], name: string): number | undefined => samples(fams, name)[0]?.value;

describe('kata-monitor', () => {
  let root: string;
  let shims: Map<string, FakeShim>;
  let http: MonitorHttpServer;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'sbs-'));
    shims = new Map();
    const monitor = new KataMonitor({ sandboxesRoot: root, shimTimeoutMs: 200, log });
    http = await startMonitorHttp(monitor, { host: '127.0.0.1', port: 0 });
  });

  afterEach(async () => {
    await http.close();
    for (const s of shims.values()) await s.close();
    rmSync(root, { recursive: true, force: true });
  });

  const shim = async (id: string, o: Parameters<typeof startFakeShim>[2]): Promise<FakeShim> => {
    const s = await startFakeShim(root, id, o);
    shims.set(id, s);
    return s;
  };

  it('serves the union of every running sandbox, each sample labelled with its sandbox and CRI pod', async () => {
    await shim('pod-a', { metrics: shimText(512), metadata: CRI });
    await shim('pod-b', { metrics: shimText(1024) });
    mkdirSync(join(root, 'no-socket-yet'));
    const res = await get(http.address, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain; version=0.0.4');
    const fams = parsePromText(res.body);
    // One family per name, with both sandboxes' samples.
    expect(samples(fams, 'kata_guest_meminfo').map((s) => s.labels)).toEqual([
      { item: 'mem_total', sandbox_id: 'pod-a', cri_uid: '6f1c', cri_name: 'web', cri_namespace: 'shop' },
      { item: 'mem_free', sandbox_id: 'pod-a', cri_uid: '6f1c', cri_name: 'web', cri_namespace: 'shop' },
      { item: 'mem_total', sandbox_id: 'pod-b' },
      { item: 'mem_free', sandbox_id: 'pod-b' },
    ]);
    expect(samples(fams, 'kata_guest_meminfo').map((s) => s.value)).toEqual([512, 1000, 1024, 1000]);
    expect(only(fams, 'kata_monitor_running_shim_count')).toBe(2);
    expect(only(fams, 'kata_monitor_scrape_count')).toBe(1);
    expect(only(fams, 'kata_monitor_scrape_failed_count')).toBe(0);
    expect(fams.find((f) => f.name === 'kata_monitor_scrape_durations_histogram_milliseconds')?.type).toBe('histogram');
    expect((await get(http.address, '/sandboxes')).body).toBe('pod-a\npod-b\n');
  });

  it('a shim that hangs or writes garbage is left out and counted as failed; the scrape still succeeds', async () => {
    await shim('pod-a', { metrics: shimText(512), metadata: CRI });
    await shim('pod-hung', { hang: true });
    await shim('pod-junk', { metrics: 'kata_shim_threads{ 1\n' });
    await shim('pod-liar', { metrics: shimText(1), metadata: { sandboxId: 'someone-else' } });
    const res = await get(http.address, '/metrics');
    expect(res.status).toBe(200);
    const fams = parsePromText(res.body);
    expect(new Set(samples(fams, 'kata_guest_meminfo').map((s) => s.labels.sandbox_id))).toEqual(new Set(['pod-a']));
    expect(only(fams, 'kata_monitor_running_shim_count')).toBe(4);
    expect(only(fams, 'kata_monitor_scrape_failed_count')).toBe(3);
    // Counted per scrape.
    expect(only(parsePromText((await get(http.address, '/metrics')).body), 'kata_monitor_scrape_failed_count')).toBe(6);
  });

  it('drops a sandbox once its shim is gone, and asks a new sandbox of the same id who it is', async () => {
    await shim('pod-a', { metrics: shimText(512), metadata: CRI });
    const b = await shim('pod-b', { metrics: shimText(1024) });
    expect(parsePromText((await get(http.address, '/metrics')).body).length).toBeGreaterThan(0);
    await shims.get('pod-a')!.close();
    shims.delete('pod-a');
    rmSync(join(root, 'pod-a'), { recursive: true });
    let fams = parsePromText((await get(http.address, '/metrics')).body);
    expect(new Set(samples(fams, 'kata_guest_meminfo').map((s) => s.labels.sandbox_id))).toEqual(new Set(['pod-b']));
    expect(only(fams, 'kata_monitor_running_shim_count')).toBe(1);
    expect((await get(http.address, '/sandboxes')).body).toBe('pod-b\n');
    // The pod's metadata is asked once while it runs.
    expect(b.requests.filter((r) => r === '/sandbox-metadata')).toHaveLength(1);

    await shim('pod-a', { metrics: shimText(64), metadata: { sandboxId: 'pod-a', cri: { uid: 'new', name: 'api', namespace: 'shop' } } });
    fams = parsePromText((await get(http.address, '/metrics')).body);
    expect(samples(fams, 'kata_shim_threads').find((s) => s.labels.sandbox_id === 'pod-a')?.labels.cri_uid).toBe('new');
  });

  it("one sandbox's own text, its agent URL; bad requests get errors, not a crash", async () => {
    await shim('pod-b', { metrics: shimText(1024) });
    expect((await get(http.address, '/metrics?sandbox=pod-b')).body).toBe(shimText(1024));
    expect((await get(http.address, '/agent-url?sandbox=pod-b')).body).toBe('serial:///run/vc/vm/pod-b/kata.sock\n');
    expect((await get(http.address, '/metrics?sandbox=../../etc')).status).toBe(400);
    expect((await get(http.address, '/agent-url?sandbox=..')).status).toBe(400);
    expect((await get(http.address, '/metrics?sandbox=nope')).status).toBe(502);
    expect((await get(http.address, '/metrics?sandbox=nope')).body).toMatch(/no running sandbox has this id/);
    expect((await get(http.address, '/agent-url')).status).toBe(400);
    expect((await get(http.address, '/debug')).status).toBe(404);
    expect((await get(http.address, '/sandboxes')).status).toBe(200);
  });

  it('no sandboxes root yet (no pod ever ran): an empty node, not an error', async () => {
    rmSync(root, { recursive: true, force: true });
    const res = await get(http.address, '/metrics');
    expect(res.status).toBe(200);
    expect(only(parsePromText(res.body), 'kata_monitor_running_shim_count')).toBe(0);
    mkdirSync(root);
  });
});
