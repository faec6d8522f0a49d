// Boots a sandbox's VM and connects its agent: the one composition place where the
// hypervisor (from the configuration) and the agent channel (from host facts: vhost-vsock
// with a claimed guest CID when the host has it, virtio-serial otherwise) are chosen. On any failure
// everything started so far is stopped again, so a failed boot leaves nothing behind.
import type { Agent, AgentRpcObserver, GuestStorage } from '../agent/agent.js';
import { AgentClient } from '../agent/agent-client.js';
import { DEBUG_CONSOLE_PORT } from '../agent/debug-console-protocol.js';
import { agentKernelParams } from '../agent/kernel-params.js';
import { loadVsockBinding } from '../agent/transport/native-vsock.js';
import { probeKvm, resolveAccel, type KataConfig } from '../config/index.js';
import type { Hypervisor, VmNic } from '../hypervisor/hypervisor.js';
import { hostTscKhz, vhostNetAvailable } from '../hypervisor/host.js';
import { probeAgentChannel, releaseAgentChannel } from '../hypervisor/agent-channel.js';
import type { QemuLaunchSpec } from '../hypervisor/qemu/command-line.js';
import { qemuLaunchSpec, SHARED_FS_TAG } from '../hypervisor/qemu/launch-spec.js';
import { QemuHypervisor } from '../hypervisor/qemu/qemu.js';
import type { Logger } from '../log/logger.js';
import { Code, RuntimeError } from '../errors/index.js';
import { GUEST_SHM_DIR } from './container-mounts.js';
import { GUEST_SHARED_DIR } from './shared-fs.js';


export interface VmBootOptions {
  readonly sandboxId: string;
  readonly config: KataConfig;
  /** Host directory served to the guest over virtio-fs. */
  readonly sharedDir: string;
  /** The VM's sockets, pid file and console log. */
  readonly runDir: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** Static sizing raises the ceiling to the boot size; otherwise default_maxvcpus. */
  readonly maxVcpus?: number;
  /** The pod's network namespace and the taps set up there for the VM's NICs. */
  readonly network?: { readonly netns: string; readonly nics: readonly VmNic[] };
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Told the duration of every agent RPC (the shim's metrics). */
  readonly onAgentRpc?: AgentRpcObserver;
  /** Called once the hypervisor runs, before the agent answers (the console watcher starts here). */
  readonly onStarted?: (hypervisor: Hypervisor) => void;
}

export interface SandboxVm {
  readonly hypervisor: Hypervisor;
  readonly agent: Agent;
  /** Milliseconds from launch to the agent answering, for logs and benchmarks. */
  readonly bootMs: number;
  /** bootMs in two: the hypervisor becoming controllable, then the guest booting to its agent. */
  readonly timing?: { readonly hypervisorMs: number; readonly agentMs: number };
}

export const sharedFsStorage = (): GuestStorage => ({
  driver: 'virtio-fs',
  source: SHARED_FS_TAG,
  fstype: 'virtiofs',
  options: [],
  mountPoint: GUEST_SHARED_DIR,
});

/** CRI's default /dev/shm size (64 MiB), as Kata's agent mounts it for the pod. */
const SHM_SIZE_BYTES = 64 * 1024 * 1024;

/** The pod's /dev/shm: a tmpfs in the guest, which every container binds (Kata's "ephemeral" storage). */
export const shmStorage = (): GuestStorage => ({
  driver: 'ephemeral',
  source: 'shm',
  fstype: 'tmpfs',
  options: ['noexec', 'nosuid', 'nodev', 'mode=1777', `size=${SHM_SIZE_BYTES}`],
  mountPoint: GUEST_SHM_DIR,
});

export async function bootSandboxVm(o: VmBootOptions): Promise<SandboxVm> {
  const h = o.config.hypervisor;
  const accel = resolveAccel(h.accel, await probeKvm());
  // No await from here until the hypervisor owns the vhost-vsock descriptor: it cannot leak.
  const channel = probeAgentChannel({ loadAddon: loadVsockBinding });
  o.log.info({ agentChannel: channel.kind, reason: channel.reason }, 'agent channel chosen');
  let spec: QemuLaunchSpec;
  try {
    spec = qemuLaunchSpec(h, {
    sandboxId: o.sandboxId,
    runDir: o.runDir,
    accel,
    vcpus: o.vcpus,
    maxVcpus: Math.max(o.maxVcpus ?? h.defaultMaxVcpus, o.vcpus),
    memoryMiB: o.memoryMiB,
    maxMemoryMiB: h.defaultMaxMemoryMiB,
    debug: h.enableDebug,
    agentKernelParams: agentKernelParams({ debug: o.config.agent.enableDebug, debugConsole: o.config.agent.debugConsoleEnabled }),
    ...(o.config.agent.debugConsoleEnabled ? { debugConsolePort: DEBUG_CONSOLE_PORT } : {}),
    tscKhz: hostTscKhz(),
    ...(channel.kind === 'vsock' ? { vsockCid: channel.cid, vhostFd: channel.vhostFd } : {}),
    network: o.network,
    vhostNetAvailable: o.network ? vhostNetAvailable() : false,
    });
  } catch (err) {
    releaseAgentChannel(channel);
    throw err;
  }
  const hypervisor = new QemuHypervisor({
    spec,
    runDir: o.runDir,
    log: o.log,
    virtiofsd:
      h.sharedFs === 'virtio-fs'
        ? { path: h.virtioFsDaemon, sharedDir: o.sharedDir, cache: h.virtioFsCache, extraArgs: h.virtioFsExtraArgs }
        : undefined,
  });
  const t0 = Date.now();
  await hypervisor.start(o.signal);
  const started = Date.now();
  o.onStarted?.(hypervisor);
  // A VM that dies while booting ends the dial at once, with QEMU's reason.
  const dial = new AbortController();
  let died: string | undefined;
  void hypervisor.exited.then((e) => {
    died = `the VM exited before its agent answered: ${e.reason}${e.stderr ? `: ${e.stderr}` : ''}`;
    dial.abort();
  });
  try {
    const agent = await AgentClient.connect(hypervisor.agentUrl, {
      timeoutMs: o.config.agent.dialTimeoutSec * 1000,
      signal: o.signal ? AbortSignal.any([o.signal, dial.signal]) : dial.signal,
      log: o.log,
      onRpc: o.onAgentRpc,
    });
    const answered = Date.now();
    return { hypervisor, agent, bootMs: answered - t0, timing: { hypervisorMs: started - t0, agentMs: answered - started } };
  } catch (err) {
    const reason = died; // read before stop(), which makes the VM exit too
    await hypervisor.stop();
    throw reason ? new RuntimeError(Code.UNAVAILABLE, `sandbox ${o.sandboxId}: ${reason}`, { cause: err }) : err;
  }
}
