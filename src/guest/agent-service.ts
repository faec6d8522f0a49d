// grpc.AgentService and grpc.Health handlers: agent API messages in, GuestAgent calls
// out. The one place that converts protobuf values (grpc.Spec → OCI JSON, stats →
// CgroupStats) and ids (checked here, branded from here on).
import { grpc } from '../gen/proto.js';
import type { grpc_AgentService, grpc_Health } from '../gen/services.js';
import { processFromGrpc, resourcesFromGrpc, specFromGrpc } from '../oci/grpc-spec.js';
import type { CallContext, Handlers } from '../ttrpc/index.js';
import { invalidArgument, toRuntimeError } from '../errors/index.js';
import type { GuestAgent } from './agent.js';
import { cgroupStatsFromRunc } from './cgroup-stats.js';
import { toContainerId, toExecId } from './ids.js';
import { GuestMetrics } from './metrics.js';
import { interfaceToGrpc, neighborsFromGrpc, nicFromGrpc, routeToGrpc, routesFromGrpc } from './net-request.js';
import { checkExecProcess } from './spec-check.js';
import { AGENT_VERSION, GRPC_VERSION } from './version.js';

/** Largest ReadStdout/ReadStderr answer: well under ttrpc's 4 MiB message limit. */
export const MAX_READ = 1 << 20;

type AgentHandlers = Partial<Handlers<typeof grpc_AgentService>>;
type HealthHandlers = Handlers<typeof grpc_Health>;

const EMPTY = {};

export function agentHandlers(agent: GuestAgent): AgentHandlers {
  const log = agent.log;
  const metrics = new GuestMetrics();
  const handlers: AgentHandlers = {
    async CreateSandbox(req) {
      await agent.createSandbox(req);
      return EMPTY;
    },
    async DestroySandbox() {
      await agent.destroySandbox();
      return EMPTY;
    },
    async CreateContainer(req) {
      const id = toContainerId(req.containerId);
      if (!req.OCI) throw invalidArgument(`container ${id}: no OCI spec`);
      if (req.storages.length || req.devices.length || req.sharedMounts.length) {
        // Not supported yet: the rootfs arrives on the sandbox's virtio-fs share instead.
        log.warn({ container: id, storages: req.storages.length, devices: req.devices.length, sharedMounts: req.sharedMounts.length }, 'ignoring per-container storages/devices');
      }
      await agent.createContainer(id, specFromGrpc(req.OCI), { sandboxPidns: req.sandboxPidns });
      return EMPTY;
    },
    async StartContainer(req, ctx) {
      await agent.container(req.containerId).start(ctx.signal);
      return EMPTY;
    },
    async RemoveContainer(req) {
      await agent.removeContainer(req.containerId);
      return EMPTY;
    },
    async ExecProcess(req, ctx) {
      const container = agent.container(req.containerId);
      const execId = toExecId(req.execId);
      const process = checkExecProcess(container.id, execId, req.process ? processFromGrpc(req.process) : undefined);
      await container.exec(execId, process, ctx.signal);
      return EMPTY;
    },
    async SignalProcess(req) {
      await agent.container(req.containerId).signal(req.execId, req.signal);
      return EMPTY;
    },
    async WaitProcess(req, ctx) {
      const container = agent.container(req.containerId);
      const proc = container.process(req.execId);
      // After the container's OOM events are queued: the host sees /tasks/oom first.
      const status = await container.wait(req.execId, ctx.signal);
      if (proc !== container.init) container.releaseExec(req.execId);
      return { status };
    },
    async WriteStdin(req, ctx) {
      const proc = agent.container(req.containerId).process(req.execId);
      return { len: await proc.write(req.data, ctx.signal) };
    },
    async ReadStdout(req, ctx) {
      const proc = agent.container(req.containerId).process(req.execId);
      return { data: await proc.stdout.read(readSize(req.len), ctx.signal) };
    },
    async ReadStderr(req, ctx) {
      const proc = agent.container(req.containerId).process(req.execId);
      return { data: await proc.stderr.read(readSize(req.len), ctx.signal) };
    },
    async CloseStdin(req) {
      agent.container(req.containerId).process(req.execId).closeStdin();
      return EMPTY;
    },
    async TtyWinResize(req) {
      agent.container(req.containerId).process(req.execId).resize(req.row, req.column);
      return EMPTY;
    },
    async UpdateContainer(req) {
      await agent.container(req.containerId).update(resourcesFromGrpc(req.resources ?? {}));
      return EMPTY;
    },
    async StatsContainer(req) {
      const stats = await agent.container(req.containerId).stats();
      return { cgroupStats: cgroupStatsFromRunc(stats), networkStats: [] };
    },
    async PauseContainer(req) {
      await agent.container(req.containerId).pause();
      return EMPTY;
    },
    async ResumeContainer(req) {
      await agent.container(req.containerId).resume();
      return EMPTY;
    },
    async OnlineCPUMem(req) {
      await agent.onlineCpuMem({ nbCpus: req.nbCpus, cpuOnly: req.cpuOnly });
      return EMPTY;
    },
    async GetGuestDetails(req) {
      const details = await agent.guestDetails();
      return {
        memBlockSizeBytes: req.memBlockSize ? details.memBlockSizeBytes : 0,
        supportMemHotplugProbe: req.memHotplugProbe ? details.supportMemHotplugProbe : false,
        agentDetails: {
          version: AGENT_VERSION,
          initDaemon: process.pid === 1,
          deviceHandlers: [],
          storageHandlers: ['virtio-fs', 'ephemeral'],
          supportsSeccomp: true,
          extraFeatures: [],
        },
      };
    },
    async GetMetrics() {
      return { metrics: await metrics.collect() };
    },
    async GetOOMEvent(_req, ctx) {
      return { containerId: await agent.oom.next(ctx.signal) };
    },
    async UpdateInterface(req) {
      const network = agent.network;
      const { link, addrs } = await network.updateInterface(nicFromGrpc(req.interface));
      // What the guest cannot observe (the host's PCI path, the host link's type) is echoed back.
      return { ...interfaceToGrpc(link, addrs), devicePath: req.interface?.devicePath ?? '', type: req.interface?.type ?? '' };
    },
    async UpdateRoutes(req) {
      const network = agent.network;
      const applied = await network.updateRoutes(routesFromGrpc(req.routes?.Routes ?? []));
      return { Routes: applied.map(routeToGrpc) };
    },
    async AddARPNeighbors(req) {
      const network = agent.network;
      await network.addNeighbors(neighborsFromGrpc(req.neighbors?.ARPNeighbors ?? []));
      return EMPTY;
    },
    async ListInterfaces() {
      const { links, addrs } = await agent.network.listInterfaces();
      return { Interfaces: links.map((l) => interfaceToGrpc(l, addrs)) };
    },
    async ListRoutes() {
      return { Routes: (await agent.network.listRoutes()).map(routeToGrpc) };
    },
  };
  return withLogging(handlers, log);
}

export function healthHandlers(): HealthHandlers {
  return {
    Check: () => ({ status: grpc.HealthCheckResponse.ServingStatus.SERVING }),
    Version: () => ({ grpcVersion: GRPC_VERSION, agentVersion: AGENT_VERSION }),
  };
}

/** len 0 means "whatever is there", like a read(2) with the agent's own buffer size. */
function readSize(len: number): number {
  return len > 0 ? Math.min(len, MAX_READ) : MAX_READ;
}

/** Long polls and periodic scrapes are not worth a log line each; failures are. */
const QUIET = new Set(['ReadStdout', 'ReadStderr', 'WriteStdin', 'WaitProcess', 'GetOOMEvent', 'GetMetrics']);

function withLogging(handlers: AgentHandlers, log: GuestAgent['log']): AgentHandlers {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(handlers) as [string, (req: unknown, ctx: CallContext) => Promise<unknown>][]) {
    wrapped[name] = async (req: unknown, ctx: CallContext) => {
      const level = QUIET.has(name) ? 'trace' : 'debug';
      log[level]({ rpc: name }, 'rpc');
      try {
        return await fn(req, ctx);
      } catch (err) {
        const e = toRuntimeError(err);
        if (!ctx.signal.aborted) log.warn({ rpc: name, code: e.codeName, err: e.message }, 'rpc failed');
        throw e;
      }
    };
  }
  return wrapped as AgentHandlers;
}
