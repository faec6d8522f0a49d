// A private containerd 1.6 with its CRI plugin, real CNI plugins and the test images, all
// inside a private network namespace: the CNI bridge, pod veths, host-network pods and
// CRI's stream server live there, so runs never collide with each other or the host.
// Only what containerd 1.6 hard-codes is shared: pod netns files in /var/run/netns (unless
// netnsMountsUnderStateDir), libcni's result cache in /var/lib/cni/results, and
// /run/containerd/{s,runc,fifo}.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { startContainerd, type Containerd, type Snapshotter, type StopReport } from './containerd.js';
import { connectCri, type ContainerState, type ContainerStatus, type CriClient, type In, type PodSandboxConfig } from './cri-client.js';
import { cniConflist, newNetwork, renderCriConfig, type CniNetwork, type TomlValue } from './cri-config.js';
import { containerConfig, podConfig, type ContainerConfigOptions, type PodConfigOptions } from './cri-pods.js';
import { CRI_NAMESPACE, importBusybox, importPauseImage, importVolumeImage, PAUSE_IMAGE } from './images.js';
import { unmountUnder } from './mounts.js';
import { createNetns, deleteNetns, execInNetns, uniqueNetnsName, type Netns } from './netns.js';
import type { CommandResult, RunCommandOptions } from './run-command.js';
import { cleanAfterKilledShims, shimTrees } from './shim-leftovers.js';

/** libcni's cache of ADD results (not configurable through containerd 1.6). */
const CNI_RESULTS_DIR = '/var/lib/cni/results';

export interface CriEnvOptions {
  /** Directories put first on containerd's PATH, e.g. where containerd-shim-kata-v2 lives. */
  extraPath?: readonly string[];
  /** Extra environment for containerd and so its shims (e.g. KATA_CONF_FILE). */
  env?: Readonly<Record<string, string>>;
  /** Top-level keys of the CRI plugin table over the defaults, e.g. { max_container_log_line_size: 1024 }. */
  criSettings?: Readonly<Record<string, TomlValue>>;
  /**
   * Keys per runtime handler over the defaults (`runc`, and `kata` with runtime_type
   * io.containerd.kata.v2 and the io.katacontainers.* annotations passed through);
   * a new handler needs its runtime_type.
   */
  runtimes?: Readonly<Record<string, Readonly<Record<string, TomlValue>>>>;
  /** TOML after the CRI tables: only new subtables, e.g. `[...runtimes.kata.options]`. */
  extraCriConfig?: string;
  /** containerd TOML outside the CRI plugin (see ContainerdOptions.extraConfig). */
  extraConfig?: string;
  debugLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** containerd's and CRI's snapshotter; default overlayfs. */
  snapshotter?: Snapshotter;
  /** Put pod netns files under containerd's state dir instead of /var/run/netns; default false (as in production). */
  netnsMountsUnderStateDir?: boolean;
  /** For containerd to answer, then for CRI to be ready; default 30 s. */
  startTimeoutMs?: number;
}

/** The CNI network every non-host-network pod of this instance joins. */export interface CriStopReport extends StopReport {
  /** Pods still there at stop(), removed through CRI (Stop then Remove). */
  leftoverPods: string[];
  /** Netns files of those pods that CRI did not remove (unmounted and deleted here). */
  leftoverPodNetns: string[];
  /** veth interfaces still in the test netns after every pod was removed. */
  leftoverVeths: string[];
  /** IP allocations host-local still held. */
  leftoverIps: string[];
  /**
   * libcni result cache files still in /var/lib/cni/results (deleted here): this network's,
   * and CRI's loopback network's for the pods this instance knew.
   */
  leftoverCniResults: string[];
}
export interface RunningPod {
  id: string;
  config: In<PodSandboxConfig>;
}

export interface CriEnv {
  readonly cri: CriClient;
  readonly cd: Containerd;
  readonly netns: Netns;
  /** The instance's temp dir: CNI config and state, pod logs, and containerd's own dir. */
  readonly dir: string;
  readonly network: CniNetwork;
  readonly images: { busybox: string; pause: string; volume: string };
  /** Runs a command in the test netns (where the bridge is), e.g. busybox wget to a pod IP. */
  exec(cmd: readonly string[], options?: RunCommandOptions): Promise<CommandResult>;
  /** The parent of every pod log directory podConfig() makes. */
  podLogDir(): string;
  /** podConfig() with log_directory set to a fresh dir under podLogDir(). */
  podConfig(options: PodConfigOptions): In<PodSandboxConfig>;
  /** RunPodSandbox with podConfig(options), for a runtime handler (default: CRI's default, runc). */
  runPod(options: PodConfigOptions, handler?: string): Promise<RunningPod>;
  /** CreateContainer then StartContainer; returns the container id. */
  startContainer(pod: RunningPod, options: ContainerConfigOptions): Promise<string>;
  /** Removes every pod, stops containerd, deletes the netns and the temp dir; reports leftovers. */
  stop(): Promise<CriStopReport>;
}
// ---- waiting on conditions

export interface WaitOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Pause between probes; default 50 ms. */
  intervalMs?: number;
}

/**
 * Probes until it returns something other than undefined/false; a throwing probe counts as
 * "not yet" and its error is reported if time runs out.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const deadline = performance.now() + (options.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const r = await probe();
      if (r !== undefined && r !== false) return r;
    } catch (e) {
      last = e;
    }
    if (performance.now() > deadline) {
      const why = last instanceof Error ? `: last error: ${last.message}` : '';
      throw new Error(`timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${what}${why}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/** Waits until the container is in one of `states` (default: exited); returns its status. */
export function waitContainerState(
  cri: CriClient,
  id: string,
  states: readonly ContainerState[] = ['CONTAINER_EXITED'],
  options: WaitOptions = {},
): Promise<ContainerStatus> {
  return waitFor(`container ${id.slice(0, 12)} to be ${states.join('|')}`, async () => {
    const { status } = await cri.containerStatus({ container_id: id });
    return status !== null && states.includes(status.state) ? status : undefined;
  }, options);
}

/** The pod's network namespace file, from containerd's verbose status (undefined for a host-network pod). */
export async function podNetnsPath(cri: CriClient, podId: string): Promise<string | undefined> {
  const { info } = await cri.podSandboxStatus({ pod_sandbox_id: podId, verbose: true });
  const spec = JSON.parse(info.info ?? '{}') as { runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
  const ns = spec.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network');
  return ns?.path || undefined;
}
// ---- the environment

function makeDir(): string {
  const base = join(tmpdir(), 'crienv-XXXXXX', 'ctrd-XXXXXX', 'containerd.sock.ttrpc').length <= 100 ? tmpdir() : '/tmp';
  return mkdtempSync(join(base, 'crienv-'));
}

function vethsIn(ns: Netns): string[] {
  const r = spawnSync('ip', ['-n', ns.name, '-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

function allocatedIps(net: CniNetwork): string[] {
  const dir = join(net.ipamDataDir, net.name);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')) : [];
}

function cniResults(network: string, podIds: Iterable<string>): string[] {
  if (!existsSync(CNI_RESULTS_DIR)) return [];
  const loopback = new Set([...podIds].map((id) => `cni-loopback-${id}-lo`));
  return readdirSync(CNI_RESULTS_DIR)
    .filter((f) => f.startsWith(`${network}-`) || loopback.has(f))
    .map((f) => join(CNI_RESULTS_DIR, f));
}

async function removeAllPods(cri: CriClient): Promise<{ pods: string[]; netns: string[] }> {
  const { items } = await cri.listPodSandbox({}, { timeoutMs: 10_000 });
  const netns: string[] = [];
  for (const pod of items) {
    const path = await podNetnsPath(cri, pod.id).catch(() => undefined);
    if (path) netns.push(path);
    await cri.stopPodSandbox({ pod_sandbox_id: pod.id }).catch(() => undefined);
    await cri.removePodSandbox({ pod_sandbox_id: pod.id }).catch(() => undefined);
  }
  return { pods: items.map((p) => p.id), netns };
}

/** What the exit hook needs to clean up an instance that was never stopped. */
interface LiveEnv {
  address: string;
  state: string;
  dir: string;
  network: string;
  /** Every pod made by runPod(), and its netns file. */
  pods: Set<string>;
  podNetns: Set<string>;
}

const liveEnvs = new Set<LiveEnv>();
let exitHookInstalled = false;

/**
 * Instances still live when the test process exits (a crash, a failed hook): containerd.ts
 * only kills containerd, and the shims (with the pods' processes) would keep running and
 * keep the private netns alive. Kill them, then release what they held.
 */
function trackEnv(e: LiveEnv): void {
  liveEnvs.add(e);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const live of liveEnvs) {
      for (const pid of shimTrees(live.address)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      cleanAfterKilledShims(live.state);
      removeNetnsFiles([...live.podNetns]);
      for (const f of cniResults(live.network, live.pods)) rmSync(f, { force: true });
      unmountUnder(live.dir);
      rmSync(live.dir, { recursive: true, force: true });
    }
  });
}

/** Unmounts and deletes pod netns files CRI left; returns those it had to. */
function removeNetnsFiles(paths: readonly string[]): string[] {
  const left = paths.filter((p) => existsSync(p));
  for (const p of left) {
    spawnSync('umount', [p], { stdio: 'ignore' });
    rmSync(p, { force: true });
  }
  return left;
}

export async function startCriEnv(options: CriEnvOptions = {}): Promise<CriEnv> {
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const dir = makeDir();
  const network = newNetwork(dir);
  const podLogs = join(dir, 'pods');
  mkdirSync(network.confDir, { recursive: true });
  mkdirSync(network.ipamDataDir, { recursive: true });
  mkdirSync(podLogs, { recursive: true });
  writeFileSync(join(network.confDir, '10-kata-test.conflist'), cniConflist(network));

  let netns: Netns | undefined;
  let cd: Containerd | undefined;
  let cri: CriClient | undefined;
  const cleanupAfterFailure = async (): Promise<void> => {
    cri?.close();
    if (cd) await cd.stop().catch(() => undefined);
    if (netns) deleteNetns(netns);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    netns = createNetns(uniqueNetnsName('kt'));
    const snapshotter = options.snapshotter ?? 'overlayfs';
    cd = await startContainerd({
      netnsPath: netns.path,
      tmpBase: dir,
      namespace: CRI_NAMESPACE,
      snapshotter,
      startTimeoutMs: timeoutMs,
      ...(options.extraPath === undefined ? {} : { extraPath: options.extraPath }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.debugLevel === undefined ? {} : { debugLevel: options.debugLevel }),
      ...(options.extraConfig === undefined ? {} : { extraConfig: options.extraConfig }),
      criConfig: renderCriConfig({
        sandboxImage: PAUSE_IMAGE,
        confDir: network.confDir,
        snapshotter,
        netnsMountsUnderStateDir: options.netnsMountsUnderStateDir ?? false,
        ...(options.criSettings === undefined ? {} : { criSettings: options.criSettings }),
        ...(options.runtimes === undefined ? {} : { runtimes: options.runtimes }),
        ...(options.extraCriConfig === undefined ? {} : { extraCriConfig: options.extraCriConfig }),
      }),
    });
    const client = connectCri(cd.address);
    cri = client;
    // The CRI service answers "server is not initialized yet" until its own start-up is done.
    await waitFor('CRI Version', () => client.version({}, { timeoutMs: 2_000 }), { timeoutMs });
    // NetworkReady is false ("cni config not initialized") until CNI has loaded the conflist.
    await waitFor('CRI RuntimeReady and NetworkReady', async () => {
      const { status } = await client.status({}, { timeoutMs: 2_000 });
      const ready = (type: string): boolean => status?.conditions.some((c) => c.type === type && c.status) ?? false;
      return ready('RuntimeReady') && ready('NetworkReady');
    }, { timeoutMs });
    const ns = { namespace: CRI_NAMESPACE };
    // One at a time: concurrent `ctr images import` into one namespace contend for the same
    // "tar-index.json" content ref ("locked ... unavailable" in containerd's log).
    const busybox = await importBusybox(cd, ns);
    const pause = await importPauseImage(cd, ns);
    const volume = await importVolumeImage(cd, ns);
    // CRI learns about imported images from containerd's events: wait until it knows them.
    for (const image of [busybox, pause, volume]) {
      await waitFor(`CRI to know image ${image}`, async () => (await client.imageStatus({ image: { image } })).image ?? undefined, { timeoutMs });
    }

    const readyNetns = netns;
    const readyCd = cd;
    const live: LiveEnv = { address: cd.address, state: cd.state, dir, network: network.name, pods: new Set(), podNetns: new Set() };
    trackEnv(live);
    let stopped: Promise<CriStopReport> | undefined;
    const doStop = async (): Promise<CriStopReport> => {
      const removed = await removeAllPods(client).catch(() => ({ pods: [] as string[], netns: [] as string[] }));
      client.close();
      const report = await readyCd.stop();
      const leftoverPodNetns = removeNetnsFiles([...new Set([...removed.netns, ...live.podNetns])]);
      liveEnvs.delete(live);
      const leftoverVeths = vethsIn(readyNetns);
      const leftoverIps = allocatedIps(network);
      const leftoverCniResults = cniResults(network.name, [...live.pods, ...removed.pods]);
      for (const f of leftoverCniResults) rmSync(f, { force: true });
      deleteNetns(readyNetns);
      if (process.env.CONTAINERD_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
      return { ...report, leftoverPods: removed.pods, leftoverPodNetns, leftoverVeths, leftoverIps, leftoverCniResults };
    };

    const env: CriEnv = {
      cri: client,
      cd,
      netns,
      dir,
      network,
      images: { busybox, pause, volume },
      exec: (cmd, o) => execInNetns(readyNetns, cmd, o),
      podLogDir: () => podLogs,
      podConfig(o) {
        const logDirectory = o.logDirectory ?? join(podLogs, `${o.name}-${randomUUID().slice(0, 8)}`);
        mkdirSync(logDirectory, { recursive: true });
        return podConfig({ ...o, logDirectory });
      },
      async runPod(o, handler) {
        const config = env.podConfig(o);
        const { pod_sandbox_id } = await client.runPodSandbox({ config, ...(handler === undefined ? {} : { runtime_handler: handler }) });
        // Remembered so stop() and the exit hook can release it even if CRI does not.
        live.pods.add(pod_sandbox_id);
        const path = await podNetnsPath(client, pod_sandbox_id).catch(() => undefined);
        if (path) live.podNetns.add(path);
        return { id: pod_sandbox_id, config };
      },
      async startContainer(pod, o) {
        // kubelet gives every container its pod's namespace options.
        const namespaceOptions = pod.config.linux?.security_context?.namespace_options ?? undefined;
        const config = containerConfig({ ...(namespaceOptions ? { namespaceOptions } : {}), ...o });
        const { container_id } = await client.createContainer({ pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
        await client.startContainer({ container_id });
        return container_id;
      },
      stop: () => (stopped ??= doStop()),
    };
    return env;
  } catch (e) {
    const log = cd?.logs() ?? '';
    await cleanupAfterFailure();
    const tail = log.trimEnd().split('\n').slice(-30).join('\n');
    throw new Error(`startCriEnv: ${e instanceof Error ? e.message : String(e)}${tail ? `\ncontainerd log tail:\n${tail}` : ''}`);
  }
}
