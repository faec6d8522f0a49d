// The Kubernetes half of `make demo`: containerd 1.6's CRI plugin (in a private network
// namespace, with a CNI bridge) runs a pod on the `kata` handler whose container serves
// HTTP on the pod IP from inside its VM; the host side fetches the page and prints it,
// then the pod is removed. Driven by the project's own CRI client (no crictl here).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCriEnv, waitFor } from '../test/support/cri-env.js';

const repo = resolve(import.meta.dirname, '..');
const conf = process.argv[2] ?? join(repo, 'config', 'configuration.toml');
const dir = mkdtempSync(join(tmpdir(), 'kata-demo-pod-'));
mkdirSync(join(dir, 'bin'));
symlinkSync(join(repo, 'dist', 'containerd-shim-kata-v2.mjs'), join(dir, 'bin', 'containerd-shim-kata-v2'));

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
  say('StopPodSandbox + RemovePodSandbox');
  await env.cri.stopPodSandbox({ pod_sandbox_id: pod.id });
  await env.cri.removePodSandbox({ pod_sandbox_id: pod.id });
} finally {
  const report = await env.stop();
  rmSync(dir, { recursive: true, force: true });
  const left = [...report.leftoverPods, ...report.killedShims.map(String), ...report.leftoverVeths];
  say(left.length ? `cleanup had to remove: ${left.join(', ')}` : 'pod removed; nothing left behind');
}
