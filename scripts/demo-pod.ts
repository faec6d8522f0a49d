// The Kubernetes half of `make demo`: containerd 1.6's CRI plugin (in a private network
// namespace, with a CNI bridge) runs a pod on the `kata` handler whose container serves
// HTTP on the pod IP from inside its VM; the host side fetches the page and prints it,
// kata-monitor (linked beside the shim, as scripts/install-shim.sh does) shows the pod's
// metrics; then the pod is removed. Driven by the project's own CRI client (no crictl here).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parsePromText } from '../src/metrics/prom-text.js';
import { startCriEnv, waitFor } from '../test/support/cri-env.js';
import { startKataMonitor } from '../test/support/kata-monitor.js';

const repo = resolve(import.meta.dirname, '..');
const conf = process.argv[2] ?? join(repo, 'config', 'configuration.toml');
const dir = mkdtempSync(join(tmpdir(), 'kata-demo-pod-'));
mkdirSync(join(dir, 'bin'));
for (const file of ['containerd-shim-kata-v2.cjs', 'kata-monitor.mjs']) symlinkSync(join(repo, 'dist', file), join(dir, 'bin', file.replace(/\.[cm]js$/, '')));

const say = (s: string): void => console.log(`== ${s}`);
say('starting a private containerd with its CRI plugin and a CNI bridge, in its own network namespace');
const env = await startCriEnv({ extraPath: [join(dir, 'bin')], env: { KATA_CONF_FILE: conf } });
try {
  say(`RunPodSandbox on the "kata" handler (runtime_type io.containerd.kata.v2), CNI network ${env.network.subnet}`);
  const t0 = Date.now();
  const pod = await env.runPod({ name: 'demo-web' }, 'kata');
  const web = await env.startContainer(pod, {
    name: 'httpd',
    image: env.images.busybox,
    command: ['sh', '-c', 'mkdir -p /www && echo "hello from a kata pod, kernel $(uname -r)" > /www/index.html && exec httpd -f -p 80 -h /www'],
  });
  const ip = (await env.cri.podSandboxStatus({ pod_sandbox_id: pod.id })).status?.network?.ip;
  say(`pod ${pod.id.slice(0, 12)} ready in ${Date.now() - t0} ms, pod IP ${ip}; httpd runs in container ${web.slice(0, 12)} inside the pod's VM`);
  say(`GET http://${ip}/ from the host side of the bridge`);
  // Like a readiness probe: httpd listens a moment after its container started.
  const page = await waitFor(`httpd on ${ip}:80`, async () => {
    const r = await env.exec(['busybox', 'wget', '-q', '-O', '-', `http://${ip}/`], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(r.stderr.trim());
    return r.stdout;
  });
  process.stdout.write(page);
  const monitor = await startKataMonitor({ binary: join(dir, 'bin', 'kata-monitor') });
  try {
    const fams = parsePromText((await monitor.get('/metrics')).body);
    const mine = (name: string, item?: string) =>
      fams.find((f) => f.name === name)?.samples.find((x) => x.labels.sandbox_id === pod.id && (item === undefined || x.labels.item === item));
    const mem = mine('kata_guest_meminfo', 'mem_total');
    const mib = (b: number | undefined): string => (b === undefined ? '?' : `${Math.round(b / 1048576)} MiB`);
    say(`kata-monitor on ${monitor.address}: pod ${mem?.labels.cri_namespace}/${mem?.labels.cri_name}: guest memory ${mib(mem?.value)}, agent RSS ${mib(mine('kata_agent_total_rss')?.value)}, QEMU RSS ${mib(mine('kata_hypervisor_proc_status', 'vmrss')?.value)}`);
  } finally {
    await monitor.stop();
  }
  say('StopPodSandbox + RemovePodSandbox');
  await env.cri.stopPodSandbox({ pod_sandbox_id: pod.id });
  await env.cri.removePodSandbox({ pod_sandbox_id: pod.id });
} finally {
  const report = await env.stop();
  rmSync(dir, { recursive: true, force: true });
  const left = [...report.leftoverPods, ...report.killedShims.map(String), ...report.leftoverVeths];
  say(left.length ? `cleanup had to remove: ${left.join(', ')}` : 'pod removed; nothing left behind');
}
