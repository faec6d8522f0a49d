// Kubernetes pods through containerd's CRI plugin, kata vs runc side by side in one run:
// pod start latency (RunPodSandbox → CreateContainer → StartContainer → first ExecSync
// answered) and TCP throughput from the host side of the CNI bridge into a pod.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCriEnv, waitFor, type CriEnv, type RunningPod } from '../test/support/cri-env.js';
import { testVmConfig } from '../test/vm/vm-config.js';
import { median } from './stats.js';

const DIST = join(import.meta.dirname, '../dist');
const MIB = 1024 * 1024;

/** Runs in the test netns: connects, sends `bytes` zeros, waits for the receiver to close; prints ms. */
const SENDER = `
const [host, port, bytes] = process.argv.slice(1);
const s = require('node:net').connect(Number(port), host, () => {
  const t0 = performance.now();
  s.on('close', (hadError) => { if (hadError) process.exit(1); console.log(Math.round(performance.now() - t0)); });
  s.end(Buffer.alloc(Number(bytes)));
});
s.on('error', (e) => { console.error(e.message); process.exit(1); });`;

/** The pod's receiver: counts each connection's bytes, so every transfer is checked whole. */
const SINK = 'while :; do nc -l -p 5001 | wc -c >> /tmp/received; done';

async function startPod(env: CriEnv, handler: string, name: string): Promise<{ pod: RunningPod; ms: number; container: string }> {
  const t0 = performance.now();
  const pod = await env.runPod({ name }, handler);
  const container = await env.startContainer(pod, { name: 'sink', image: env.images.busybox, command: ['sh', '-c', SINK] });
  await env.cri.execSync({ container_id: container, cmd: ['true'], timeout: 60 });
  return { pod, ms: Math.round(performance.now() - t0), container };
}

async function sendMiB(env: CriEnv, ip: string, container: string, mib: number): Promise<number> {
  // The sink listens a moment after its container started: retry until it accepts.
  const ms = await waitFor(`nc on ${ip}:5001`, () => {
    try {
      const out = execFileSync('nsenter', [`--net=${env.netns.path}`, '--', process.execPath, '-e', SENDER, ip, '5001', String(mib * MIB)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
      return Number(out.trim());
    } catch {
      return undefined;
    }
  }, { timeoutMs: 30_000, intervalMs: 200 });
  const received = await waitFor('the byte count', async () => {
    const out = (await env.cri.execSync({ container_id: container, cmd: ['sh', '-c', 'tail -n 1 /tmp/received'], timeout: 30 })).stdout.toString().trim();
    return out || undefined;
  });
  if (Number(received) !== mib * MIB) throw new Error(`pod ${ip} received ${received} bytes of ${mib * MIB}`);
  return ms;
}

export async function benchCriPods(runs = 3, mib = 100): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cri-'));
  mkdirSync(join(dir, 'bin'));
  symlinkSync(join(DIST, 'containerd-shim-kata-v2.cjs'), join(dir, 'bin', 'containerd-shim-kata-v2'));
  await testVmConfig(dir);
  const env = await startCriEnv({ extraPath: [join(dir, 'bin')], env: { KATA_CONF_FILE: join(dir, 'configuration.toml') }, debugLevel: 'info' });
  const start: Record<'kata' | 'runc', number[]> = { kata: [], runc: [] };
  const mibps: Record<'kata' | 'runc', number[]> = { kata: [], runc: [] };
  try {
    for (let i = 0; i < runs; i++) {
      for (const handler of ['kata', 'runc'] as const) {
        const { pod, ms, container } = await startPod(env, handler, `bench-${handler}-${i}`);
        start[handler].push(ms);
        const ip = (await env.cri.podSandboxStatus({ pod_sandbox_id: pod.id })).status!.network!.ip;
        const sendMs = await sendMiB(env, ip, container, mib);
        mibps[handler].push(Math.round((mib / sendMs) * 1000 * 10) / 10);
        await env.cri.stopPodSandbox({ pod_sandbox_id: pod.id });
        await env.cri.removePodSandbox({ pod_sandbox_id: pod.id });
      }
    }
    const ratio = (a: number, b: number): string => (a / b).toFixed(a / b < 10 ? 2 : 0);
    console.log(
      [
        `CRI pods, kata vs runc (${runs} pods each, interleaved; median [all]):`,
        `  pod start, RunPodSandbox → first ExecSync answered:`,
        `    kata (VM under TCG)   ${median(start.kata)} ms  [${start.kata.join(', ')}]`,
        `    runc (reference)      ${median(start.runc)} ms  [${start.runc.join(', ')}]   kata/runc ${ratio(median(start.kata), median(start.runc))}x`,
        `  TCP host → pod, ${mib} MiB into busybox nc:`,
        `    kata (tap + tc mirred, userspace virtio-net)   ${median(mibps.kata)} MiB/s  [${mibps.kata.join(', ')}]`,
        `    runc (veth)                                   ${median(mibps.runc)} MiB/s  [${mibps.runc.join(', ')}]   kata/runc ${ratio(median(mibps.kata), median(mibps.runc))}`,
      ].join('\n'),
    );
  } finally {
    await env.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
