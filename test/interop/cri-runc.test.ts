// The CRI harness itself, proven with runc: containerd 1.6's CRI plugin with real CNI
// plugins inside a private network namespace, driven by our own CRI client. Tests of the
// kata handler build on exactly this, so each behaviour here is containerd's and runc's
// reference to compare against.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderContainerdConfig } from '../support/containerd-config.js';
import { GrpcStatus, isCriError } from '../support/cri-client.js';
import { cniConflist, renderCriConfig } from '../support/cri-config.js';
import { podNetnsPath, startCriEnv, waitContainerState, waitFor, type CriEnv, type RunningPod } from '../support/cri-env.js';
import { parseCriLog, readCriLog, reassembleCriLog } from '../support/cri-log.js';
import { containerConfig, podConfig } from '../support/cri-pods.js';
import { VOLUME_FILE, VOLUME_FILE_CONTENT } from '../support/images.js';

const MIB = 1024 * 1024;

/** The veth interfaces in the test netns (the host ends of pod interfaces). */
async function veths(env: CriEnv): Promise<string[]> {
  const r = await env.exec(['ip', '-o', 'link', 'show', 'type', 'veth']);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!);
}

/**
 * Fetches a URL from the test netns with the host's busybox wget. (No `-T`: Debian 12's
 * busybox-static 1.35 wget segfaults with it; the command's own timeout bounds the wait.)
 */
function wget(env: CriEnv, url: string) {
  return env.exec(['busybox', 'wget', '-q', '-O', '-', url], { timeoutMs: 10_000 });
}

describe('CRI harness pieces', () => {
  it('parses CRI log lines and reassembles each stream byte for byte', () => {
    const text = [
      '2024-01-02T03:04:05.123456789Z stdout P abc',
      '2024-01-02T03:04:05.123456790Z stderr F oops',
      '2024-01-02T03:04:05.123456791Z stdout F def ghi',
      '2024-01-02T03:04:05.123456792Z stdout F ',
      '2024-01-02T03:04:05.123456793Z stdout P tail',
      '',
    ].join('\n');
    const entries = parseCriLog(text);
    expect(entries.map((e) => [e.stream, e.partial, e.content.toString()])).toEqual([
      ['stdout', true, 'abc'],
      ['stderr', false, 'oops'],
      ['stdout', false, 'def ghi'],
      ['stdout', false, ''],
      ['stdout', true, 'tail'],
    ]);
    expect(reassembleCriLog(entries)).toEqual({ stdout: Buffer.from('abcdef ghi\n\ntail'), stderr: Buffer.from('oops\n') });
    expect(() => parseCriLog('not a log line\n')).toThrow(/malformed/);
  });

  it('renders a CRI config containerd can parse, CRI enabled, with both runtimes', () => {
    const cri = renderCriConfig({
      sandboxImage: 'localhost/kata-test/pause:1',
      confDir: '/tmp/x/net.d',
      snapshotter: 'overlayfs',
      netnsMountsUnderStateDir: false,
      runtimes: { kata: { privileged_without_host_devices: true } },
      extraCriConfig: '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options]\n  ConfigPath = "/etc/kata.toml"',
    });
    const paths = { root: '/r', state: '/s', opt: '/o', address: '/a.sock', ttrpcAddress: '/a.sock.ttrpc' };
    const toml = parseToml(renderContainerdConfig(paths, { criConfig: cri })) as {
      disabled_plugins: string[];
      plugins: Record<string, { sandbox_image: string; containerd: { default_runtime_name: string; runtimes: Record<string, Record<string, unknown>> }; cni: Record<string, unknown> }>;
    };
    expect(toml.disabled_plugins).not.toContain('io.containerd.grpc.v1.cri');
    const plugin = toml.plugins['io.containerd.grpc.v1.cri']!;
    expect(plugin.sandbox_image).toBe('localhost/kata-test/pause:1');
    expect(plugin.containerd.default_runtime_name).toBe('runc');
    expect(plugin.containerd.runtimes.runc).toEqual({ runtime_type: 'io.containerd.runc.v2' });
    expect(plugin.containerd.runtimes.kata).toEqual({
      runtime_type: 'io.containerd.kata.v2',
      pod_annotations: ['io.katacontainers.*'],
      container_annotations: ['io.katacontainers.*'],
      privileged_without_host_devices: true,
      options: { ConfigPath: '/etc/kata.toml' },
    });
    expect(plugin.cni).toEqual({ bin_dir: '/usr/lib/cni', conf_dir: '/tmp/x/net.d', max_conf_num: 1 });
    expect(() => renderContainerdConfig(paths, { criConfig: cri, disabledPlugins: ['io.containerd.grpc.v1.cri'] })).toThrow(/criConfig/);
  });

  it('writes a bridge conflist with private IPAM state', () => {
    const net = { name: 'n1', bridge: 'br1', subnet: '10.1.2.0/24', gateway: '10.1.2.1', confDir: '/c', ipamDataDir: '/d' };
    const conf = JSON.parse(cniConflist(net)) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
    expect(conf).toMatchObject({ cniVersion: '1.0.0', name: 'n1' });
    expect(conf.plugins[0]).toMatchObject({ type: 'bridge', bridge: 'br1', isGateway: true, ipMasq: false, ipam: { type: 'host-local', dataDir: '/d' } });
  });

  it('builds pod and container configs the way kubelet fills them', () => {
    const hostPod = podConfig({ name: 'h', network: 'NODE', resources: { cpu_quota: 50_000, cpu_period: 100_000 } });
    expect(hostPod.hostname).toBe('');
    expect(hostPod.linux?.security_context?.namespace_options).toEqual({ network: 'NODE', pid: 'CONTAINER', ipc: 'POD' });
    expect(hostPod.linux?.resources).toEqual({ cpu_quota: 50_000, cpu_period: 100_000 });
    expect(podConfig({ name: 'p' }).hostname).toBe('p');
    const c = containerConfig({ name: 'c', image: 'i', command: ['sh'], env: { A: '1' }, runAsUser: 0, mounts: [{ container_path: '/m', host_path: '/h', readonly: true }] });
    expect(c).toMatchObject({
      metadata: { name: 'c' },
      image: { image: 'i' },
      envs: [{ key: 'A', value: '1' }],
      log_path: 'c.log',
      mounts: [{ container_path: '/m', host_path: '/h', readonly: true }],
      linux: { security_context: { run_as_user: { value: 0 } } },
    });
  });
});

describe('CRI of containerd 1.6 with runc, in a private network namespace', () => {
  let env: CriEnv;

  beforeAll(async () => {
    env = await startCriEnv();
  });

  afterAll(async () => {
    if (!env) return;
    const report = await env.stop();
    expect(report).toEqual({
      leftoverTasks: [],
      killedShims: [],
      unmounted: [],
      leftoverPods: [],
      leftoverPodNetns: [],
      leftoverVeths: [],
      leftoverIps: [],
      leftoverCniResults: [],
    });
    expect(existsSync(env.cd.dir)).toBe(false);
    expect(existsSync(env.dir)).toBe(false);
    expect(existsSync(env.netns.path)).toBe(false);
  });

  it('speaks runtime.v1, is ready, and knows the imported images', async () => {
    const version = await env.cri.version({ version: 'v1' });
    expect(version).toMatchObject({ runtime_name: 'containerd', runtime_api_version: 'v1' });
    expect(version.runtime_version).toMatch(/^1\.6\./);
    const { status } = await env.cri.status();
    expect(status?.conditions.filter((c) => c.status).map((c) => c.type).sort()).toEqual(['NetworkReady', 'RuntimeReady']);
    for (const image of Object.values(env.images)) {
      const { image: found } = await env.cri.imageStatus({ image: { image } });
      expect(found?.repo_tags).toContain(image);
    }
    const missing = await env.cri.imageStatus({ image: { image: 'localhost/kata-test/none:1' } });
    expect(missing.image).toBeNull();
  });

  describe('a pod on the CNI bridge', () => {
    let pod: RunningPod;
    let web: string;
    let podIp: string;
    let netnsPath: string | undefined;

    beforeAll(async () => {
      pod = await env.runPod({ name: 'web', labels: { suite: 'cri-runc' } });
      web = await env.startContainer(pod, {
        name: 'httpd',
        image: env.images.busybox,
        command: ['sh', '-c', 'mkdir -p /www && echo hello from the pod > /www/index.html && exec httpd -f -p 80 -h /www'],
      });
    });

    it('gets an IP in the private subnet, its netns from CRI and a veth on the test netns bridge', async () => {
      const { status } = await env.cri.podSandboxStatus({ pod_sandbox_id: pod.id });
      expect(status).toMatchObject({ id: pod.id, state: 'SANDBOX_READY', runtime_handler: '', metadata: { name: 'web' } });
      podIp = status!.network!.ip;
      expect(podIp.startsWith(env.network.subnet.replace(/\.0\/24$/, '.'))).toBe(true);
      expect(podIp).not.toBe(env.network.gateway);
      netnsPath = await podNetnsPath(env.cri, pod.id);
      expect(netnsPath).toMatch(/^\/var\/run\/netns\/cni-/);
      expect(existsSync(netnsPath!)).toBe(true);
      const links = await env.exec(['ip', '-o', 'link', 'show', 'master', env.network.bridge]);
      expect(links.stdout).toMatch(/veth/);
      const listed = await env.cri.listPodSandbox({ filter: { label_selector: { suite: 'cri-runc' } } });
      expect(listed.items.map((p) => p.id)).toEqual([pod.id]);
    });

    it('serves a page to the test netns over the bridge', async () => {
      await waitContainerState(env.cri, web, ['CONTAINER_RUNNING']);
      const page = await waitFor('httpd to answer', async () => {
        const r = await wget(env, `http://${podIp}/`);
        return r.code === 0 ? r.stdout : undefined;
      });
      expect(page).toBe('hello from the pod\n');
    });

    it('ExecSync returns stdout, stderr and the exit code', async () => {
      const r = await env.cri.execSync({ container_id: web, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'], timeout: 10 });
      expect(r.stdout.toString()).toBe('out\n');
      expect(r.stderr.toString()).toBe('err\n');
      expect(r.exit_code).toBe(7);
      const ip = await env.cri.execSync({ container_id: web, cmd: ['ip', '-o', '-4', 'addr', 'show', 'eth0'] });
      expect(ip.stdout.toString()).toContain(`inet ${podIp}/24`);
      const lo = await env.cri.execSync({ container_id: web, cmd: ['ip', '-o', '-4', 'addr', 'show', 'lo'] });
      expect(lo.stdout.toString()).toContain('127.0.0.1/8'); // CRI's own loopback network
    });

    it('reports stats and lists the container', async () => {
      const { stats } = await env.cri.containerStats({ container_id: web });
      expect(stats?.attributes?.id).toBe(web);
      expect(stats?.memory?.working_set_bytes?.value).toBeGreaterThan(0);
      expect(stats?.cpu?.usage_core_nano_seconds?.value).toBeGreaterThan(0);
      expect(stats?.writable_layer).not.toBeNull();
      const all = await env.cri.listContainerStats({ filter: { pod_sandbox_id: pod.id } });
      expect(all.stats.map((s) => s.attributes?.id)).toContain(web);
      const { containers } = await env.cri.listContainers({ filter: { pod_sandbox_id: pod.id } });
      expect(containers.map((c) => [c.id, c.state])).toContainEqual([web, 'CONTAINER_RUNNING']);
    });

    it('UpdateContainerResources changes the container cgroup', async () => {
      await env.cri.updateContainerResources({ container_id: web, linux: { memory_limit_in_bytes: 96 * MIB, cpu_period: 100_000, cpu_quota: 50_000 } });
      const r = await env.cri.execSync({ container_id: web, cmd: ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'] });
      expect(r.stdout.toString().split('\n').slice(0, 2)).toEqual([String(96 * MIB), '50000']);
      const { status } = await env.cri.containerStatus({ container_id: web });
      expect(status?.resources?.linux).toMatchObject({ memory_limit_in_bytes: 96 * MIB, cpu_quota: 50_000 });
    });

    it("starts an image's declared volume with the image's content", async () => {
      const id = await env.startContainer(pod, { name: 'volume', image: env.images.volume, command: ['cat', VOLUME_FILE] });
      const status = await waitContainerState(env.cri, id);
      expect(status.exit_code).toBe(0);
      const log = await waitFor('the volume file in the log', () => {
        const l = readCriLog(status.log_path);
        return l.stdout.length >= VOLUME_FILE_CONTENT.length ? l : undefined;
      });
      expect(log.stdout.toString()).toBe(VOLUME_FILE_CONTENT);
      await env.cri.removeContainer({ container_id: id });
    });

    it('logs a 1 MiB line and a last line without a newline, both whole once reassembled', async () => {
      const script = "dd if=/dev/zero bs=1024 count=1024 2>/dev/null | tr '\\000' a; echo; echo to stderr >&2; printf 'no newline at the end'";
      const id = await env.startContainer(pod, { name: 'logger', image: env.images.busybox, command: ['sh', '-c', script] });
      const status = await waitContainerState(env.cri, id);
      expect(status.log_path).toBe(join(pod.config.log_directory!, 'logger.log'));
      const expected = `${'a'.repeat(MIB)}\nno newline at the end`;
      const log = await waitFor('the whole log', () => {
        const l = readCriLog(status.log_path);
        return l.stdout.length >= expected.length && l.stderr.length > 0 ? l : undefined;
      });
      expect(log.stdout.toString() === expected).toBe(true); // not toBe: a 1 MiB diff is unreadable
      expect(log.stderr.toString()).toBe('to stderr\n');
      const stdoutEntries = log.entries.filter((e) => e.stream === 'stdout');
      // containerd splits at max_container_log_line_size (16 KiB): the 1 MiB line is 64 entries.
      expect(stdoutEntries.length).toBe(65);
      expect(stdoutEntries.map((e) => e.partial)).toEqual([...Array<boolean>(63).fill(true), false, true]);
      expect(stdoutEntries[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)$/);
      await env.cri.removeContainer({ container_id: id });
    });

    it('reports exit codes with reason Completed for 0 and Error otherwise', async () => {
      const ok = await env.startContainer(pod, { name: 'ok', image: env.images.busybox, command: ['true'] });
      const fail = await env.startContainer(pod, { name: 'fail', image: env.images.busybox, command: ['sh', '-c', 'exit 3'] });
      const okStatus = await waitContainerState(env.cri, ok);
      const failStatus = await waitContainerState(env.cri, fail);
      expect(okStatus).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 0, reason: 'Completed' });
      expect(failStatus).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 3, reason: 'Error' });
      // Both set, but not ordered: containerd stamps started_at after task Start returns and
      // finished_at from the shim's exit event, so a quick exit can finish "before" it started.
      expect(failStatus.started_at).toBeGreaterThan(0);
      expect(failStatus.finished_at).toBeGreaterThan(0);
      for (const id of [ok, fail]) await env.cri.removeContainer({ container_id: id });
      const gone = await env.cri.containerStatus({ container_id: ok }).catch((e: unknown) => e);
      expect(isCriError(gone, GrpcStatus.NOT_FOUND)).toBe(true);
    });

    it('StopContainer: a deadline shorter than the timeout fails early and leaves the container running; the next stop kills it after its timeout', async () => {
      const script = "trap 'echo got TERM' TERM; echo ready; while :; do sleep 1; done";
      const id = await env.startContainer(pod, { name: 'stubborn', image: env.images.busybox, command: ['sh', '-c', script] });
      const status = await waitContainerState(env.cri, id, ['CONTAINER_RUNNING']);
      await waitFor('the trap to be set', () => readCriLog(status.log_path).stdout.toString().includes('ready\n'));

      const early = await env.cri.stopContainer({ container_id: id, timeout: 60 }, { timeoutMs: 1_500 }).catch((e: unknown) => e);
      expect(isCriError(early, GrpcStatus.DEADLINE_EXCEEDED)).toBe(true);
      await waitFor('SIGTERM to reach the trap', () => readCriLog(status.log_path).stdout.toString().includes('got TERM\n'));
      expect((await env.cri.containerStatus({ container_id: id })).status?.state).toBe('CONTAINER_RUNNING');

      // containerd sends the stop signal once per container: this call only waits out its
      // timeout, then SIGKILLs.
      await env.cri.stopContainer({ container_id: id, timeout: 1 });
      const stopped = await waitContainerState(env.cri, id);
      expect(stopped).toMatchObject({ exit_code: 137, reason: 'Error' });
      expect(readCriLog(status.log_path).stdout.toString().match(/got TERM/g)).toHaveLength(1);
      await env.cri.removeContainer({ container_id: id });
    });

    it('the pause image exits 0 on SIGTERM as PID 1 (no SIGKILL needed)', async () => {
      const id = await env.startContainer(pod, { name: 'pause', image: env.images.pause });
      const running = await waitContainerState(env.cri, id, ['CONTAINER_RUNNING']);
      // Its shell must have set the trap before the signal comes: wait for its sleep child.
      await waitFor('the pause loop to start', async () => {
        const ps = await env.cri.execSync({ container_id: id, cmd: ['ps', '-o', 'pid,comm'] });
        return /^\s*\d+\s+sleep$/m.test(ps.stdout.toString());
      });
      expect(running.state).toBe('CONTAINER_RUNNING');
      await env.cri.stopContainer({ container_id: id, timeout: 60 });
      expect(await waitContainerState(env.cri, id)).toMatchObject({ exit_code: 0, reason: 'Completed' });
      await env.cri.removeContainer({ container_id: id });
    });

    it('StopPodSandbox and RemovePodSandbox leave no netns, veth, IP or CNI cache behind', async () => {
      expect(await veths(env)).toHaveLength(1);
      await env.cri.stopPodSandbox({ pod_sandbox_id: pod.id });
      const { status } = await env.cri.podSandboxStatus({ pod_sandbox_id: pod.id });
      expect(status?.state).toBe('SANDBOX_NOTREADY');
      expect((await env.cri.containerStatus({ container_id: web })).status?.state).toBe('CONTAINER_EXITED');
      await env.cri.removePodSandbox({ pod_sandbox_id: pod.id });

      expect((await env.cri.listPodSandbox()).items).toEqual([]);
      expect((await env.cri.listContainers()).containers).toEqual([]);
      expect(existsSync(netnsPath!)).toBe(false);
      expect(await veths(env)).toEqual([]);
      const ipam = join(env.network.ipamDataDir, env.network.name);
      expect(readdirSync(ipam).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'))).toEqual([]);
      const cache = existsSync('/var/lib/cni/results') ? readdirSync('/var/lib/cni/results') : [];
      expect(cache.filter((f) => f.startsWith(`${env.network.name}-`) || f === `cni-loopback-${pod.id}-lo`)).toEqual([]);
    });
  });

  it('the pause image, as PID 1 of a pod sharing its PID namespace, reaps orphans', async () => {
    const pod = await env.runPod({ name: 'shared-pid', namespaceOptions: { pid: 'POD' } });
    try {
      // Each `sh -c 'true &'` exits at once, so its child is orphaned to PID 1: the pause
      // shell. The container then waits (bounded) until no zombie is left and shows ps.
      const script = [
        "for i in 1 2 3 4 5; do sh -c 'true &'; done",
        "n=0; while [ $n -lt 100 ] && ps -o stat | grep -q '^Z'; do n=$((n+1)); sleep 0.1; done",
        'ps -o pid,ppid,stat,comm',
      ].join('; ');
      const id = await env.startContainer(pod, { name: 'orphans', image: env.images.busybox, namespaceOptions: { pid: 'POD' }, command: ['sh', '-c', script] });
      const status = await waitContainerState(env.cri, id);
      expect(status.exit_code).toBe(0);
      const ps = await waitFor('ps output', () => {
        const out = readCriLog(status.log_path).stdout.toString();
        return out.includes('COMMAND') && out.endsWith('\n') && out.split('\n').length > 3 ? out : undefined;
      });
      const rows = ps.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
      expect(rows).toContainEqual(['1', '0', 'S', 'sh']); // the pause shell is PID 1
      expect(rows.filter((r) => r[2]?.startsWith('Z'))).toEqual([]);
    } finally {
      await env.cri.stopPodSandbox({ pod_sandbox_id: pod.id });
      await env.cri.removePodSandbox({ pod_sandbox_id: pod.id });
    }
  });

  it("runs a host-network pod in containerd's network namespace: the test netns", async () => {
    const pod = await env.runPod({ name: 'hostnet', network: 'NODE' });
    try {
      const { status } = await env.cri.podSandboxStatus({ pod_sandbox_id: pod.id });
      expect(status?.network?.ip).toBe('');
      expect(status?.linux?.namespaces?.options?.network).toBe('NODE');
      expect(await podNetnsPath(env.cri, pod.id)).toBeUndefined();
      const id = await env.startContainer(pod, {
        name: 'httpd',
        image: env.images.busybox,
        namespaceOptions: { network: 'NODE' },
        command: ['sh', '-c', 'mkdir -p /www && echo hello from the host network > /www/index.html && exec httpd -f -p 127.0.0.1:18080 -h /www'],
      });
      await waitContainerState(env.cri, id, ['CONTAINER_RUNNING']);
      const page = await waitFor('httpd on the test netns loopback', async () => {
        const r = await wget(env, 'http://127.0.0.1:18080/');
        return r.code === 0 ? r.stdout : undefined;
      });
      expect(page).toBe('hello from the host network\n');
      // The pod sees the test netns's interfaces, not the machine's.
      const links = await env.cri.execSync({ container_id: id, cmd: ['cat', '/proc/net/dev'] });
      const names = (text: string): string[] => text.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
      const ours = await env.exec(['cat', '/proc/net/dev']);
      expect(names(links.stdout.toString())).toEqual(names(ours.stdout));
    } finally {
      await env.cri.stopPodSandbox({ pod_sandbox_id: pod.id });
      await env.cri.removePodSandbox({ pod_sandbox_id: pod.id });
    }
  });
});
