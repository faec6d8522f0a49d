// Kubernetes pods on the kata handler through containerd 1.6's real CRI plugin, CNI and
// QEMU: one VM and one shim per pod, the mounts CRI adds, volumes, a shared PID
// namespace on request, exec, logs, exit reasons, stop timeouts, resizing, stats.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuPids, shimDaemonPids } from '../e2e/leftovers.js';
import { GrpcStatus, isCriError } from '../support/cri-client.js';
import { waitContainerState, waitFor, type RunningPod } from '../support/cri-env.js';
import { readCriLog } from '../support/cri-log.js';
import { getFromShim } from '../../src/shim/monitor-client.js';
import { monitorSocketPath } from '../../src/shim/monitor-server.js';
import { VOLUME_FILE, VOLUME_FILE_CONTENT, VOLUME_PATH } from '../support/images.js';
import { startKataCriEnv, type KataCriEnv } from './kata-cri-env.js';
import { NOTHING_LEFT_OF_POD } from './pod-audit.js';

const MIB = 1024 * 1024;

describe('a kata pod through CRI', () => {
  let env: KataCriEnv;
  let host: string;

  const exec = (id: string, script: string) => env.sh(id, script);
  const memTotalKiB = async (id: string): Promise<number> => Number(/MemTotal:\s+(\d+)/.exec((await exec(id, 'cat /proc/meminfo')).stdout)?.[1]);
  const nproc = async (id: string): Promise<number> => Number((await exec(id, 'nproc')).stdout.trim());
  /** The shim's sizing report (its management socket), for what the VM has and why. */
  const sizing = async (podId: string): Promise<{ current: { memoryMiB: number; vcpus: number }; target: { memoryMiB: number; vcpus: number } }> => {
    const body = await new Promise<string>((resolve, reject) => {
      get({ socketPath: monitorSocketPath(podId), path: '/sizing' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text));
      }).on('error', reject);
    });
    return JSON.parse(body) as never;
  };

  /** Stops and removes the pod through CRI, then proves the sandbox left nothing behind. */
  async function removePod(pod: RunningPod): Promise<void> {
    expect(await env.removePod(pod)).toEqual(NOTHING_LEFT_OF_POD);
  }

  beforeAll(async () => {
    env = await startKataCriEnv();
    host = join(env.dir, 'volumes');
    for (const d of ['empty', 'rw', 'ro']) mkdirSync(join(host, d), { recursive: true });
    writeFileSync(join(host, 'ro', 'keep.txt'), 'original\n');
    writeFileSync(join(host, 'termination-log'), '');
  }, 120_000);

  afterAll(async () => {
    const report = await env?.stop();
    expect(report?.leftoverPods ?? []).toEqual([]);
  }, 180_000);

  describe('two containers in a pod with a shared PID namespace', () => {
    let pod: RunningPod;
    let writer: string;
    let reader: string;

    beforeAll(async () => {
      pod = await env.runPod(
        { name: 'shared', namespaceOptions: { pid: 'POD' }, dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] } },
        'kata',
      );
      const empty = { container_path: '/shared', host_path: join(host, 'empty') };
      writer = await env.startContainer(pod, {
        name: 'writer',
        image: env.images.busybox,
        command: ['sh', '-c', 'echo from-writer > /shared/w.txt; exec sleep 1001'],
        mounts: [
          empty,
          { container_path: '/rw', host_path: join(host, 'rw') },
          { container_path: '/ro', host_path: join(host, 'ro'), readonly: true },
          { container_path: '/dev/termination-log', host_path: join(host, 'termination-log') },
        ],
      });
      reader = await env.startContainer(pod, { name: 'reader', image: env.images.busybox, command: ['sleep', '1002'], mounts: [empty] });
    }, 180_000);

    afterAll(async () => {
      if (pod) await removePod(pod);
    }, 120_000);

    it("tells kata-monitor which pod it is: CRI's sandbox annotations on the shim's /sandbox-metadata", async () => {
      const meta = JSON.parse(await getFromShim(monitorSocketPath(pod.id), '/sandbox-metadata'));
      const m = pod.config.metadata!;
      expect(meta).toEqual({ sandboxId: pod.id, cri: { uid: m.uid, name: 'shared', namespace: m.namespace } });
    });

    it('runs in one VM with one shim for the whole pod', () => {
      expect(qemuPids(pod.id)).toHaveLength(1);
      expect(shimDaemonPids(pod.id)).toHaveLength(1);
      for (const id of [writer, reader]) {
        expect(qemuPids(id)).toEqual([]);
        expect(shimDaemonPids(id)).toEqual([]);
      }
    });

    it('shares an emptyDir-style directory between the containers', async () => {
      const r = await waitFor('the writer\'s file in the reader', async () => {
        const out = await exec(reader, 'cat /shared/w.txt');
        return out.exitCode === 0 ? out : undefined;
      });
      expect(r.stdout).toBe('from-writer\n');
    });

    it('shows each container the other\'s processes (shareProcessNamespace)', async () => {
      const ps = (await exec(reader, 'ps -o args')).stdout;
      expect(ps).toContain('sleep 1001');
      expect(ps).toContain('sleep 1002');
    });

    it('gives the pod one /dev/shm, a tmpfs inside the VM', async () => {
      expect((await exec(writer, 'echo ipc > /dev/shm/seg && grep " /dev/shm " /proc/mounts')).stdout).toMatch(/^\S+ \/dev\/shm tmpfs /);
      expect((await exec(reader, 'cat /dev/shm/seg')).stdout).toBe('ipc\n');
    });

    it('mounts the /etc/hosts, /etc/hostname and /etc/resolv.conf CRI wrote for the pod', async () => {
      const sandboxDir = join(env.cd.root, 'io.containerd.grpc.v1.cri', 'sandboxes', pod.id);
      expect((await exec(writer, 'cat /etc/hosts')).stdout).toBe(readFileSync(join(sandboxDir, 'hosts'), 'utf8'));
      expect((await exec(writer, 'cat /etc/hostname; hostname')).stdout).toBe('shared\nshared\n');
      const resolv = (await exec(reader, 'cat /etc/resolv.conf')).stdout;
      expect(resolv).toContain('nameserver 10.96.0.10');
      expect(resolv).toContain('search default.svc.cluster.local');
    });

    it('writes /dev/termination-log to the host file', async () => {
      expect((await exec(writer, 'echo goodbye > /dev/termination-log')).exitCode).toBe(0);
      expect(readFileSync(join(host, 'termination-log'), 'utf8')).toBe('goodbye\n');
    });

    it('shares a host path volume both ways, not as a copy', async () => {
      expect((await exec(writer, 'echo in-pod > /rw/from-pod')).exitCode).toBe(0);
      expect(readFileSync(join(host, 'rw', 'from-pod'), 'utf8')).toBe('in-pod\n');
      writeFileSync(join(host, 'rw', 'from-host'), 'on-host\n');
      const seen = await waitFor('the host\'s write inside the pod', async () => {
        const r = await exec(writer, 'cat /rw/from-host 2>/dev/null');
        return r.stdout === 'on-host\n' ? r.stdout : undefined;
      });
      expect(seen).toBe('on-host\n');
    });

    it('keeps a read-only volume read-only', async () => {
      const r = await exec(writer, 'cat /ro/keep.txt; echo changed > /ro/keep.txt');
      expect(r.stdout).toBe('original\n');
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/Read-only file system/);
      expect(readFileSync(join(host, 'ro', 'keep.txt'), 'utf8')).toBe('original\n');
    });

    it('ExecSync returns stdout, stderr and the exit code', async () => {
      expect(await exec(reader, 'echo out; echo err >&2; exit 3')).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
    });
  });

  describe('a pod with its own PID namespace per container', () => {
    let pod: RunningPod;
    let main: string;

    beforeAll(async () => {
      pod = await env.runPod({ name: 'plain' }, 'kata');
      main = await env.startContainer(pod, { name: 'main', image: env.images.busybox, command: ['sleep', '1003'] });
    }, 180_000);

    afterAll(async () => {
      if (pod) await removePod(pod);
    }, 120_000);

    it('does not show one container the other\'s processes', async () => {
      const other = await env.startContainer(pod, { name: 'other', image: env.images.busybox, command: ['sleep', '1004'] });
      const ps = (await exec(other, 'ps -o args')).stdout;
      expect(ps).toContain('sleep 1004');
      expect(ps).not.toContain('sleep 1003');
      expect((await exec(main, 'ps -o args')).stdout).not.toContain('sleep 1004');
    });

    it('starts an image volume with the image\'s content and keeps later writes', async () => {
      const id = await env.startContainer(pod, { name: 'vol', image: env.images.volume, command: ['sleep', '1005'] });
      expect((await exec(id, `cat ${VOLUME_FILE}`)).stdout).toBe(VOLUME_FILE_CONTENT);
      expect((await exec(id, `echo later > ${VOLUME_PATH}/later.txt`)).exitCode).toBe(0);
      expect((await exec(id, `cat ${VOLUME_PATH}/later.txt; grep " ${VOLUME_PATH} " /proc/mounts`)).stdout).toMatch(/^later\n\S+ \/data virtiofs /);
    });

    it('reports Completed and Error with their exit codes', async () => {
      const ok = await env.startContainer(pod, { name: 'ok', image: env.images.busybox, command: ['true'] });
      const bad = await env.startContainer(pod, { name: 'bad', image: env.images.busybox, command: ['sh', '-c', 'exit 3'] });
      expect(await waitContainerState(env.cri, ok)).toMatchObject({ exit_code: 0, reason: 'Completed' });
      expect(await waitContainerState(env.cri, bad)).toMatchObject({ exit_code: 3, reason: 'Error' });
    });

    it('writes the output to the CRI log whole: a 1 MiB line and a last line without newline', async () => {
      const script = 'head -c 1048576 /dev/zero | tr "\\0" a; echo; echo to-stderr >&2; printf no-final-newline';
      const id = await env.startContainer(pod, { name: 'logger', image: env.images.busybox, command: ['sh', '-c', script] });
      const status = await waitContainerState(env.cri, id);
      expect(status.exit_code).toBe(0);
      const log = await waitFor('the whole output in the CRI log', () => {
        const l = readCriLog(status.log_path);
        return l.stdout.length === MIB + 1 + 'no-final-newline'.length ? l : undefined;
      });
      expect(log.stdout.equals(Buffer.concat([Buffer.alloc(MIB, 'a'), Buffer.from('\nno-final-newline')]))).toBe(true);
      expect(log.stderr.toString()).toBe('to-stderr\n');
    });

    it('says OOMKilled, exit 137, for a container that exceeds its memory limit', async () => {
      const id = await env.startContainer(pod, {
        name: 'hog',
        image: env.images.busybox,
        command: ['sh', '-c', 'tail /dev/zero'],
        resources: { memory_limit_in_bytes: 64 * MIB },
      });
      expect(await waitContainerState(env.cri, id, ['CONTAINER_EXITED'], { timeoutMs: 120_000 })).toMatchObject({ exit_code: 137, reason: 'OOMKilled' });
    }, 180_000);

    it('StopContainer: a caller that gives up early leaves a SIGTERM-trapping container running; the timeout then SIGKILLs it', async () => {
      const id = await env.startContainer(pod, {
        name: 'stubborn',
        image: env.images.busybox,
        command: ['sh', '-c', 'trap "echo got-term" TERM; echo ready; while :; do sleep 1; done'],
      });
      await waitFor('the trap to be set', () => readCriLog(join(pod.config.log_directory!, 'stubborn.log')).stdout.toString().includes('ready'));
      const early = await env.cri.stopContainer({ container_id: id, timeout: 60 }, { timeoutMs: 1500 }).catch((e: unknown) => e);
      expect(isCriError(early, GrpcStatus.DEADLINE_EXCEEDED)).toBe(true);
      const running = await waitFor('the trap to run', async () => {
        const log = readCriLog(join(pod.config.log_directory!, 'stubborn.log')).stdout.toString();
        return log.includes('got-term') ? (await env.cri.containerStatus({ container_id: id })).status : undefined;
      });
      expect(running?.state).toBe('CONTAINER_RUNNING');
      expect((await exec(id, 'echo alive')).stdout).toBe('alive\n');
      // containerd sends the stop signal once; this stop waits its timeout, then kills.
      await env.cri.stopContainer({ container_id: id, timeout: 2 });
      expect(await waitContainerState(env.cri, id)).toMatchObject({ exit_code: 137, reason: 'Error' });
      expect(readCriLog(join(pod.config.log_directory!, 'stubborn.log')).stdout.toString().match(/got-term/g)).toHaveLength(1);
    }, 120_000);

    it('UpdateContainerResources resizes the VM: vCPUs and memory', async () => {
      const beforeCpus = await nproc(main);
      const beforeMem = await memTotalKiB(main);
      const before = await sizing(pod.id);
      await env.cri.updateContainerResources({ container_id: main, linux: { cpu_period: 100_000, cpu_quota: 200_000, memory_limit_in_bytes: 512 * MIB } });
      expect(await nproc(main)).toBe(beforeCpus + 2);
      // default_memory 512 MiB + this container's 512 MiB (stopped containers no longer count).
      const after = await sizing(pod.id);
      expect(after.target.memoryMiB).toBe(1024);
      expect(after.current.memoryMiB).toBe(1024);
      expect(await memTotalKiB(main)).toBe(beforeMem + (after.current.memoryMiB - before.current.memoryMiB) * 1024);
      // No cgroup namespace (containerd gives one only on cgroup v2 hosts): the full guest path.
      expect((await exec(main, 'cat "/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/memory.max"')).stdout.trim()).toBe(String(512 * MIB));
    });

    it('ContainerStats and ListContainerStats return the guest cgroup figures', async () => {
      const { stats } = await env.cri.containerStats({ container_id: main });
      expect(stats?.attributes?.id).toBe(main);
      expect(stats?.memory?.working_set_bytes?.value).toBeGreaterThan(0);
      expect(stats?.cpu?.usage_core_nano_seconds?.value).toBeGreaterThan(0);
      const list = await env.cri.listContainerStats({ filter: { pod_sandbox_id: pod.id } });
      const ids = list.stats.map((s) => s.attributes?.id);
      expect(ids).toContain(main);
      expect(list.stats.find((s) => s.attributes?.id === main)?.memory?.working_set_bytes?.value).toBeGreaterThan(0);
    });
  });

  it('sizes the VM once from the pod\'s resources (CRI sandbox annotations)', async () => {
    const pod = await env.runPod({ name: 'sized', resources: { cpu_period: 100_000, cpu_quota: 200_000, memory_limit_in_bytes: 512 * MIB } }, 'kata');
    try {
      const id = await env.startContainer(pod, { name: 'c', image: env.images.busybox, command: ['sleep', '1006'] });
      // default_vcpus 1 + 2 CPUs of quota; default_memory 512 MiB + 512 MiB, booted at that size.
      expect(await nproc(id)).toBe(3);
      expect(await memTotalKiB(id)).toBeGreaterThan(900 * 1024);
    } finally {
      await removePod(pod);
    }
  }, 180_000);
});
