// A private containerd 1.6 with its CRI plugin, real CNI plugins and the test images, all
// inside a private network namespace: the CNI bridge, pod veths, host-network pods and
// CRI's stream server live there, so runs never collide with each other or the host.
// Only what containerd 1.6 hard-codes is shared: pod netns files in /var/run/netns (unless
// netnsMountsUnderStateDir), libcni's result cache in /var/lib/cni/results, and
// /run/containerd/{s,runc,fifo}.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { tomlString } from './containerd-config.js';
import { startContainerd, type Containerd, type Snapshotter, type StopReport } from './containerd.js';
import {
  connectCri,
  type ContainerConfig,
  type ContainerState,
  type ContainerStatus,
  type CriClient,
  type Device,
  type DNSConfig,
  type In,
  type LinuxContainerResources,
  type LinuxContainerSecurityContext,
  type Mount,
  type NamespaceOption,
  type PodSandboxConfig,
  type PortMapping,
} from './cri-client.js';
import { CRI_NAMESPACE, importBusybox, importPauseImage, importVolumeImage, PAUSE_IMAGE } from './images.js';
import { unmountUnder } from './mounts.js';
import { createNetns, deleteNetns, execInNetns, uniqueNetnsName, type Netns } from './netns.js';
import type { CommandResult, RunCommandOptions } from './run-command.js';
import { shimTrees } from './shim-leftovers.js';

export const CRI_PLUGIN_TABLE = 'plugins."io.containerd.grpc.v1.cri"';
export const CNI_BIN_DIR = '/usr/lib/cni';
/** libcni's cache of ADD results (not configurable through containerd 1.6). */
const CNI_RESULTS_DIR = '/var/lib/cni/results';

type TomlValue = string | number | boolean | readonly string[];

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

/** The CNI network every non-host-network pod of this instance joins. */
export interface CniNetwork {
  /** The conflist's network name (unique per run). */
  name: string;
  /** The Linux bridge the `bridge` plugin creates in the test netns. */
  bridge: string;
  subnet: string;
  /** The bridge's address, the pods' default gateway. */
  gateway: string;
  confDir: string;
  /** host-local's dataDir: one file per allocated IP under <dataDir>/<name>/. */
  ipamDataDir: string;
}

export interface CriStopReport extends StopReport {
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

export interface PodConfigOptions {
  name: string;
  /** Kubernetes namespace in the metadata; default "default". */
  namespace?: string;
  /** Default a random UUID. */
  uid?: string;
  hostname?: string;
  logDirectory?: string;
  /** Shorthand for namespaceOptions.network: 'NODE' for a host-network pod. */
  network?: 'POD' | 'NODE';
  namespaceOptions?: In<NamespaceOption>;
  /** linux.resources: containerd 1.6 turns it into the sandbox sizing annotations. */
  resources?: In<LinuxContainerResources>;
  overhead?: In<LinuxContainerResources>;
  cgroupParent?: string;
  privileged?: boolean;
  sysctls?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  dnsConfig?: In<DNSConfig>;
  portMappings?: readonly In<PortMapping>[];
}

export interface ContainerConfigOptions {
  name: string;
  image: string;
  command?: readonly string[];
  args?: readonly string[];
  workingDir?: string;
  env?: Readonly<Record<string, string>>;
  mounts?: readonly In<Mount>[];
  devices?: readonly In<Device>[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the pod's log directory; default "<name>.log". */
  logPath?: string;
  stdin?: boolean;
  tty?: boolean;
  resources?: In<LinuxContainerResources>;
  /** Merged under the shorthands below. */
  securityContext?: In<LinuxContainerSecurityContext>;
  namespaceOptions?: In<NamespaceOption>;
  privileged?: boolean;
  readonlyRootfs?: boolean;
  runAsUser?: number;
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

// ---- config builders

/** A PodSandboxConfig as kubelet would send it, with only what a test needs. */
export function podConfig(o: PodConfigOptions): In<PodSandboxConfig> {
  // kubelet's defaults (namespacesForPod): the pod's network and IPC, a PID namespace per
  // container unless shareProcessNamespace. The enum's zero value is POD, so it is spelled out.
  const namespaceOptions: In<NamespaceOption> = {
    network: 'POD',
    pid: 'CONTAINER',
    ipc: 'POD',
    ...o.namespaceOptions,
    ...(o.network === undefined ? {} : { network: o.network }),
  };
  return {
    metadata: { name: o.name, uid: o.uid ?? randomUUID(), namespace: o.namespace ?? 'default', attempt: 0 },
    // kubelet leaves hostname empty for a host-network pod: runc refuses to set one in the host's UTS namespace.
    hostname: o.hostname ?? (namespaceOptions.network === 'NODE' ? '' : o.name),
    ...(o.logDirectory === undefined ? {} : { log_directory: o.logDirectory }),
    ...(o.dnsConfig === undefined ? {} : { dns_config: o.dnsConfig }),
    ...(o.portMappings === undefined ? {} : { port_mappings: [...o.portMappings] }),
    labels: { ...o.labels },
    annotations: { ...o.annotations },
    linux: {
      cgroup_parent: o.cgroupParent ?? '',
      security_context: { namespace_options: namespaceOptions, privileged: o.privileged ?? false },
      sysctls: { ...o.sysctls },
      ...(o.resources === undefined ? {} : { resources: o.resources }),
      ...(o.overhead === undefined ? {} : { overhead: o.overhead }),
    },
  };
}

/** A ContainerConfig as kubelet would send it, with only what a test needs. */
export function containerConfig(o: ContainerConfigOptions): In<ContainerConfig> {
  const security: In<LinuxContainerSecurityContext> = {
    ...o.securityContext,
    ...(o.namespaceOptions === undefined ? {} : { namespace_options: o.namespaceOptions }),
    ...(o.privileged === undefined ? {} : { privileged: o.privileged }),
    ...(o.readonlyRootfs === undefined ? {} : { readonly_rootfs: o.readonlyRootfs }),
    ...(o.runAsUser === undefined ? {} : { run_as_user: { value: o.runAsUser } }),
  };
  return {
    metadata: { name: o.name, attempt: 0 },
    image: { image: o.image },
    command: [...(o.command ?? [])],
    args: [...(o.args ?? [])],
    working_dir: o.workingDir ?? '',
    envs: Object.entries(o.env ?? {}).map(([key, value]) => ({ key, value })),
    mounts: [...(o.mounts ?? [])],
    ...(o.devices === undefined ? {} : { devices: [...o.devices] }),
    labels: { ...o.labels },
    annotations: { ...o.annotations },
    log_path: o.logPath ?? `${o.name}.log`,
    stdin: o.stdin ?? false,
    tty: o.tty ?? false,
    linux: { ...(o.resources === undefined ? {} : { resources: o.resources }), security_context: security },
  };
}

// ---- CRI log files

export interface CriLogEntry {
  /** RFC 3339 with nanoseconds, as written. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** "P": the content continues in the next entry of the stream (no newline was there). */
  partial: boolean;
  content: Buffer;
}

/**
 * Parses a CRI log file: lines `<RFC3339Nano> <stdout|stderr> <P|F> <content>`. containerd
 * splits lines longer than max_container_log_line_size (16 KiB) into P entries, and writes
 * output that ended without a newline as a final P entry.
 */
export function parseCriLog(data: Buffer | string): CriLogEntry[] {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const entries: CriLogEntry[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end === -1) end = buf.length; // a line still being written
    const line = buf.subarray(start, end);
    start = end + 1;
    const s1 = line.indexOf(0x20);
    const s2 = line.indexOf(0x20, s1 + 1);
    const s3 = line.indexOf(0x20, s2 + 1);
    const stream = line.subarray(s1 + 1, s2).toString();
    const tag = line.subarray(s2 + 1, s3 === -1 ? line.length : s3).toString();
    if (s1 <= 0 || s2 === -1 || (stream !== 'stdout' && stream !== 'stderr') || (tag !== 'P' && tag !== 'F')) {
      throw new Error(`CRI log: malformed line: ${line.subarray(0, 120).toString()}`);
    }
    entries.push({
      time: line.subarray(0, s1).toString(),
      stream,
      partial: tag === 'P',
      content: Buffer.from(s3 === -1 ? Buffer.alloc(0) : line.subarray(s3 + 1)),
    });
  }
  return entries;
}

/** The original byte streams: F entries get their newline back, P entries are joined. (A "\r\n" comes back as "\n".) */
export function reassembleCriLog(entries: readonly CriLogEntry[]): { stdout: Buffer; stderr: Buffer } {
  const parts: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
  for (const e of entries) {
    parts[e.stream].push(e.content);
    if (!e.partial) parts[e.stream].push(Buffer.from('\n'));
  }
  return { stdout: Buffer.concat(parts.stdout), stderr: Buffer.concat(parts.stderr) };
}

/** Reads and reassembles a container's log file (ContainerStatus.log_path). */
export function readCriLog(path: string): { entries: CriLogEntry[]; stdout: Buffer; stderr: Buffer } {
  const entries = existsSync(path) ? parseCriLog(readFileSync(path)) : [];
  return { entries, ...reassembleCriLog(entries) };
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

const tomlValue = (v: TomlValue): string =>
  typeof v === 'string' ? tomlString(v) : Array.isArray(v) ? `[${v.map((s) => tomlString(s)).join(', ')}]` : String(v);

const tomlKeys = (keys: Readonly<Record<string, TomlValue>>, indent = '  '): string[] =>
  Object.entries(keys).map(([k, v]) => `${indent}${/^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k)} = ${tomlValue(v)}`);

export interface CriConfigInputs {
  sandboxImage: string;
  confDir: string;
  snapshotter: Snapshotter;
  netnsMountsUnderStateDir: boolean;
  criSettings?: Readonly<Record<string, TomlValue>>;
  runtimes?: Readonly<Record<string, Readonly<Record<string, TomlValue>>>>;
  extraCriConfig?: string;
}

/** The `[plugins."io.containerd.grpc.v1.cri"]` tables (pure; see pkg/cri/config in containerd 1.6). */
export function renderCriConfig(i: CriConfigInputs): string {
  const settings: Record<string, TomlValue> = {
    sandbox_image: i.sandboxImage,
    // Inside the private netns, so loopback and any port are ours alone.
    stream_server_address: '127.0.0.1',
    stream_server_port: '0',
    enable_selinux: false,
    // No AppArmor profile is loaded for tests; with AppArmor on, CRI would apply its default one.
    disable_apparmor: true,
    netns_mounts_under_state_dir: i.netnsMountsUnderStateDir,
    // Without CAP_SYS_RESOURCE (missing on our machines) runc cannot lower oom_score_adj to
    // the -998 CRI asks for a sandbox; restricting clamps it to containerd's own value.
    restrict_oom_score_adj: true,
    ...i.criSettings,
  };
  const runtimes: Record<string, Record<string, TomlValue>> = {
    runc: { runtime_type: 'io.containerd.runc.v2' },
    kata: {
      runtime_type: 'io.containerd.kata.v2',
      pod_annotations: ['io.katacontainers.*'],
      container_annotations: ['io.katacontainers.*'],
    },
  };
  for (const [name, keys] of Object.entries(i.runtimes ?? {})) runtimes[name] = { ...runtimes[name], ...keys };
  const t = CRI_PLUGIN_TABLE;
  const lines = [
    `[${t}]`,
    ...tomlKeys(settings),
    '',
    `[${t}.containerd]`,
    `  snapshotter = ${tomlString(i.snapshotter)}`,
    '  default_runtime_name = "runc"',
    '',
  ];
  for (const [name, keys] of Object.entries(runtimes)) {
    lines.push(`[${t}.containerd.runtimes.${tomlString(name)}]`, ...tomlKeys(keys), '');
  }
  lines.push(`[${t}.cni]`, `  bin_dir = ${tomlString(CNI_BIN_DIR)}`, `  conf_dir = ${tomlString(i.confDir)}`, '  max_conf_num = 1', '');
  if (i.extraCriConfig) lines.push(i.extraCriConfig.trim(), '');
  return lines.join('\n');
}

let networks = 0;

/** A network unique to this process and call; the subnet only has to be unique inside the private netns. */
function newNetwork(dir: string): CniNetwork {
  networks += 1;
  const id = `${process.pid.toString(36)}${networks.toString(36)}`;
  const second = 100 + (process.pid % 100);
  const third = networks % 256;
  return {
    name: `kata-test-${id}`,
    bridge: `ktbr${id}`.slice(0, 15),
    subnet: `10.${second}.${third}.0/24`,
    gateway: `10.${second}.${third}.1`,
    confDir: join(dir, 'cni', 'net.d'),
    ipamDataDir: join(dir, 'cni', 'ipam'),
  };
}

/**
 * The conflist: one bridge network with host-local IPAM (its state in our dir, not
 * /var/lib/cni/networks). No `loopback` entry: containerd 1.6 adds its own loopback network
 * (go-cni WithLoNetwork) to every pod besides the conf_dir one.
 */
export function cniConflist(net: CniNetwork): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: net.name,
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: false,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: net.subnet, gateway: net.gateway }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: net.ipamDataDir,
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

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

/** Synchronous cleanAfterKilledShims (an exit hook cannot await): shim sockets and runc state of every bundle. */
function cleanBundlesSync(state: string): void {
  const tasks = join(state, 'io.containerd.runtime.v2.task');
  if (!existsSync(tasks)) return;
  for (const ns of readdirSync(tasks)) {
    for (const id of readdirSync(join(tasks, ns))) {
      const file = join(tasks, ns, id, 'address');
      const socket = existsSync(file) ? readFileSync(file, 'utf8').trim().replace(/^unix:\/\//, '') : '';
      if (socket.startsWith('/run/containerd/s/')) rmSync(socket, { force: true });
      const runcRoot = join('/run/containerd/runc', ns);
      if (existsSync(join(runcRoot, id))) spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    }
  }
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
      cleanBundlesSync(live.state);
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
