// containerd.task.v2.Task: a thin adaptor. It converts containerd's requests into Sandbox
// calls once, opens containerd's stdio FIFOs for the sandbox, and maps the sandbox's
// events onto containerd's topics through one ordered publisher. The sandbox is the only
// registry of containers and processes.
import type { containerd, google } from '../gen/proto.js';
import type { KataConfig } from '../config/index.js';
import { Code, RuntimeError, invalidArgument } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { LinuxResources, Process, Spec } from '../oci/runtime-spec.js';
import { Sandbox, type SandboxOptions, type StdioPaths } from '../sandbox/sandbox.js';
import { statusNumber } from '../sandbox/process-state.js';
import { readBundleSpec } from './bundle.js';
import { containerKind } from './container-type.js';
import { refuseHostNamespaces, sandboxConfig } from './create-checks.js';
import { criPodMetadata, type SandboxMetadata } from '../metrics/pod-labels.js';
import { ShimMetrics } from '../metrics/shim-metrics.js';
import { EventPublisher } from './events/index.js';
import { hostCgroupMode, metricsAny, type CgroupMode } from './metrics.js';
import { monitorSocketPath, startMonitorServer, type MonitorServer, type MonitorSource } from './monitor-server.js';
import type { ShimContext, TaskService } from './shim-context.js';
import { openHostStdio } from './stdio/index.js';
import { observeRequests } from './refusal-log.js';
import { publishSandboxEvent } from './task-events.js';
import { exitTimestamp, goTimestamp } from './timestamps.js';
import { SHIM_VERSION } from './version.js';

/** Delete of the last container waits at most this long for its events to reach containerd. */
const FINAL_FLUSH_MS = 3_000;

/** Seams for component tests: a fake VM, private roots, a configuration without files. */
export interface TaskServiceDeps {
  readonly config?: (spec: Spec, options: containerd.task.v2.ICreateTaskRequest['options'], log: Logger) => Promise<KataConfig>;
  readonly sandbox?: Partial<Pick<SandboxOptions, 'boot' | 'sharedRoot' | 'vmRoot' | 'stateRoot' | 'health' | 'callTimeoutMs' | 'outputDrainMs'>>;
  /** Whether to serve the management endpoint (default true). */
  readonly monitor?: boolean;
  readonly cgroupMode?: CgroupMode;
}

function decodeJsonAny<T>(any: google.protobuf.IAny | null | undefined, what: string): T {
  if (!any?.value?.length) throw invalidArgument(`${what}: missing`);
  try {
    return JSON.parse(Buffer.from(any.value).toString('utf8')) as T;
  } catch (err) {
    throw invalidArgument(`${what}: not valid JSON (${any.type_url}): ${(err as Error).message}`);
  }
}

const stdioOf = (r: { stdin: string; stdout: string; stderr: string; terminal: boolean }): StdioPaths => ({
  stdin: r.stdin,
  stdout: r.stdout,
  stderr: r.stderr,
  terminal: r.terminal,
});

export function createTaskService(ctx: ShimContext, deps: TaskServiceDeps = {}): TaskService {
  const events = new EventPublisher({ ttrpcAddress: ctx.ttrpcAddress || undefined, namespace: ctx.namespace, log: ctx.log });
  let sandbox: Sandbox | undefined;
  let metadata: SandboxMetadata | undefined;
  let monitor: MonitorServer | undefined;
  const metrics = new ShimMetrics({ log: ctx.log.child({ component: 'metrics' }) });

  const need = (): Sandbox => {
    if (!sandbox) throw new RuntimeError(Code.NOT_FOUND, 'no container exists in this shim');
    return sandbox;
  };

  async function newSandbox(id: string, spec: Spec, options: containerd.task.v2.ICreateTaskRequest['options']): Promise<Sandbox> {
    const log = ctx.log.child({ sandbox: id });
    const config = await (deps.config ?? sandboxConfig)(spec, options, log);
    // containerd's -debug set the level at start; [runtime] enable_debug raises it once the
    // configuration is known (children follow the root's level unless they set their own).
    if (config.runtime.enableDebug && !ctx.log.isLevelEnabled('debug')) {
      ctx.log.level = 'debug';
      log.info({ configFile: config.source }, 'log level debug: [runtime] enable_debug');
    }
    const s: Sandbox = new Sandbox({ ...deps.sandbox, id, config, log, onEvent: (e) => publishSandboxEvent(events, e, s.pid), onAgentRpc: metrics.observeAgentRpc });
    const cri = criPodMetadata(spec.annotations);
    metadata = { sandboxId: id, ...(cri ? { cri } : {}) };
    return s;
  }

  async function startMonitor(s: Sandbox): Promise<void> {
    if (monitor || deps.monitor === false) return;
    const meta = metadata ?? { sandboxId: s.id };
    const source: MonitorSource = { sizingReport: () => s.sizingReport(), agentUrl: () => s.agentUrl(), metrics: () => metrics.render(s), metadata: () => meta, debugConsole: (r) => s.openDebugConsole(r) };
    monitor = await startMonitorServer(monitorSocketPath(s.id, deps.sandbox?.stateRoot), source).catch((err: unknown) => {
      ctx.log.warn({ err }, 'management endpoint not started');
      return undefined;
    });
  }

  const handlers: TaskService['handlers'] = {
    async Create(req) {
      const spec = readBundleSpec(req.bundle);
      const kind = containerKind(spec.annotations);
      refuseHostNamespaces(req.id, spec, kind.kind === 'pod-container');
      sandbox ??= await newSandbox(kind.kind === 'pod-container' ? kind.sandboxId : req.id, spec, req.options);
      const s = sandbox;
      const stdio = stdioOf(req);
      const io = await openHostStdio(stdio, ctx.log.child({ container: req.id }));
      try {
        await s.createContainer({
          id: req.id,
          bundle: req.bundle,
          spec: { ...spec, process: spec.process ? { ...spec.process, terminal: req.terminal } : spec.process },
          rootfs: req.rootfs.map((m) => ({ type: m.type ?? '', source: m.source ?? '', options: m.options ?? [] })),
          stdio,
          io,
        });
      } catch (err) {
        await io.close();
        if (s.containerCount === 0 && sandbox === s) sandbox = undefined;
        throw err;
      }
      await startMonitor(s);
      return { pid: s.pid };
    },

    async Start(req) {
      const s = need();
      await s.start(req.id, req.execId);
      return { pid: s.pid };
    },

    async Delete(req) {
      const s = need();
      const pid = s.pid;
      const info = await s.delete(req.id, req.execId);
      if (!req.execId && s.containerCount === 0) {
        await monitor?.close();
        monitor = undefined;
        await events.flush({ timeoutMs: FINAL_FLUSH_MS });
      }
      return { pid, exitStatus: info.exitStatus, exitedAt: goTimestamp(info.exitedAt) };
    },

    State(req) {
      const s = need();
      const p = s.process(req.id, req.execId);
      const done = p.state.kind === 'stopped' || p.state.kind === 'deleted' ? p.state : undefined;
      return {
        id: req.execId || req.id,
        bundle: p.bundle,
        pid: s.pid,
        status: statusNumber(p.state),
        stdin: p.stdio.stdin,
        stdout: p.stdio.stdout,
        stderr: p.stdio.stderr,
        terminal: p.stdio.terminal,
        exitStatus: done?.exitStatus ?? 0,
        exitedAt: exitTimestamp(done?.exitedAt),
        execId: req.execId,
      };
    },

    Pids(req) {
      const s = need();
      s.process(req.id);
      return { processes: [{ pid: s.pid }] };
    },

    async Pause(req) {
      await need().pause(req.id);
      return {};
    },

    async Resume(req) {
      await need().resume(req.id);
      return {};
    },

    Checkpoint() {
      throw new RuntimeError(Code.UNIMPLEMENTED, 'checkpoint is not supported by VM sandboxes');
    },

    async Kill(req) {
      await need().kill(req.id, req.execId, req.signal);
      return {};
    },

    async Exec(req) {
      const s = need();
      const process = decodeJsonAny<Process>(req.spec, `exec ${req.execId} of container ${req.id}: process spec`);
      // Checked before the FIFOs are opened, so a refused exec opens nothing.
      s.process(req.id);
      const stdio = stdioOf(req);
      const io = await openHostStdio(stdio, ctx.log.child({ container: req.id, exec: req.execId }));
      try {
        s.exec(req.id, req.execId, { ...process, terminal: req.terminal }, stdio, io);
      } catch (err) {
        await io.close();
        throw err;
      }
      return {};
    },

    async ResizePty(req) {
      await need().resizePty(req.id, req.execId, req.height, req.width);
      return {};
    },

    async CloseIO(req) {
      if (req.stdin) await need().closeStdin(req.id, req.execId);
      else need().process(req.id, req.execId);
      return {};
    },

    async Update(req) {
      const resources = decodeJsonAny<LinuxResources>(req.resources, `update of container ${req.id}: resources`);
      await need().update(req.id, resources);
      return {};
    },

    async Wait(req) {
      const info = await need().wait(req.id, req.execId);
      return { exitStatus: info.exitStatus, exitedAt: goTimestamp(info.exitedAt) };
    },

    async Stats(req) {
      return { stats: metricsAny(await need().stats(req.id), deps.cgroupMode ?? hostCgroupMode()) };
    },

    Connect() {
      return { shimPid: process.pid, taskPid: sandbox?.pid ?? 0, version: SHIM_VERSION };
    },

    Shutdown() {
      if (sandbox && sandbox.containerCount > 0) return {};
      ctx.log.info('shutdown requested by containerd');
      ctx.requestShutdown();
      return {};
    },
  };

  return {
    handlers: observeRequests(handlers, ctx.log, (method, ms) => metrics.observeTaskRpc(method, ms)),
    shutdown: new Promise<void>(() => undefined),
    async dispose() {
      await monitor?.close();
      await sandbox?.stop();
      await events.flush({ timeoutMs: FINAL_FLUSH_MS });
      await events.close();
    },
  };
}
