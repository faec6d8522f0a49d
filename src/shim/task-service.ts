// containerd.task.v2.Task: converts containerd's requests into Sandbox calls once,
// copies stdio, and publishes every event through one ordered queue.
import type { google } from '../gen/proto.js';
import type { LinuxResources, Process } from '../oci/runtime-spec.js';
import { Sandbox, type ExitInfo } from '../sandbox/sandbox.js';
import { statusNumber } from '../sandbox/process-state.js';
import { Code, RuntimeError, invalidArgument } from '../errors/index.js';
import { readBundleSpec } from './bundle.js';
import { containerKind } from './container-type.js';
import { refuseHostNamespaces, sandboxConfig } from './create-checks.js';
import { EventPublisher, TOPIC } from './events/index.js';
import { hostCgroupMode, metricsAny } from './metrics.js';
import { monitorSocketPath, startMonitorServer, type MonitorServer } from './monitor-server.js';
import type { ShimContext, TaskService } from './shim-context.js';
import { attach, openProcessIo, type ProcessIo, type StdioCopy, type StdioPaths } from './stdio/index.js';
import { exitTimestamp, goTimestamp } from './timestamps.js';
import { SHIM_VERSION } from './version.js';

/** How long an exit waits for the process's output to reach containerd's FIFOs. */
const OUTPUT_DRAIN_MS = 10_000;

interface IoRecord {
  readonly paths: StdioPaths;
  readonly bundle: string;
  io?: ProcessIo;
  copy?: StdioCopy;
  /** Settles once the exit was published: Wait answers after the output is out. */
  readonly reported: Promise<ExitInfo>;
  report(e: ExitInfo): void;
}

const key = (id: string, execId: string): string => `${id}\u0000${execId}`;

function newRecord(paths: StdioPaths, bundle: string): IoRecord {
  let report!: (e: ExitInfo) => void;
  const reported = new Promise<ExitInfo>((r) => (report = r));
  return { paths, bundle, reported, report };
}

function decodeJsonAny<T>(any: google.protobuf.IAny | null | undefined, what: string): T {
  if (!any?.value?.length) throw invalidArgument(`${what}: missing`);
  try {
    return JSON.parse(Buffer.from(any.value).toString('utf8')) as T;
  } catch (err) {
    throw invalidArgument(`${what}: not valid JSON (${any.type_url}): ${(err as Error).message}`);
  }
}

export function createTaskService(ctx: ShimContext): TaskService {
  const events = new EventPublisher({ ttrpcAddress: ctx.ttrpcAddress || undefined, namespace: ctx.namespace, log: ctx.log });
  const records = new Map<string, IoRecord>();
  let sandbox: Sandbox | undefined;
  let monitor: MonitorServer | undefined;

  const need = (): Sandbox => {
    if (!sandbox) throw new RuntimeError(Code.NOT_FOUND, 'no container exists in this shim');
    return sandbox;
  };
  const record = (id: string, execId: string): IoRecord => {
    const r = records.get(key(id, execId));
    if (!r) throw new RuntimeError(Code.NOT_FOUND, execId ? `exec ${execId} of container ${id}: not found` : `container ${id}: not found`);
    return r;
  };

  async function onExit(id: string, execId: string, info: ExitInfo): Promise<void> {
    const r = records.get(key(id, execId));
    if (r?.copy) {
      await Promise.race([r.copy.outputDone, new Promise((res) => setTimeout(res, OUTPUT_DRAIN_MS))]);
    }
    events.publish(TOPIC.exit, { containerId: id, id: execId || id, pid: sandbox?.pid ?? 0, exitStatus: info.exitStatus, exitedAt: goTimestamp(info.exitedAt) });
    r?.report(info);
  }

  async function releaseIo(id: string, execId: string): Promise<void> {
    const r = records.get(key(id, execId));
    records.delete(key(id, execId));
    await r?.io?.close();
  }

  const handlers: TaskService['handlers'] = {
    async Create(req) {
      const spec = await readBundleSpec(req.bundle);
      const kind = containerKind(spec.annotations);
      refuseHostNamespaces(req.id, spec, kind.kind === 'pod-container');
      if (!sandbox) {
        const config = await sandboxConfig(spec, req.options);
        const sandboxId = kind.kind === 'pod-container' ? kind.sandboxId : req.id;
        sandbox = new Sandbox({ id: sandboxId, config, log: ctx.log.child({ sandbox: sandboxId }) });
        sandbox.on('exit', (id, execId, info) => void onExit(id, execId, info));
        sandbox.on('oom', (id) => events.publish(TOPIC.oom, { containerId: id }));
      }
      const paths: StdioPaths = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
      const rec = newRecord(paths, req.bundle);
      rec.io = await openProcessIo(paths, ctx.log.child({ container: req.id }));
      try {
        await sandbox.createContainer({
          id: req.id,
          bundle: req.bundle,
          spec: { ...spec, process: spec.process ? { ...spec.process, terminal: req.terminal } : spec.process },
          rootfs: req.rootfs.map((m) => ({ type: m.type ?? '', source: m.source ?? '', options: m.options ?? [] })),
        });
      } catch (err) {
        await rec.io.close();
        if (sandbox.containerCount === 0) sandbox = undefined;
        throw err;
      }
      records.set(key(req.id, ''), rec);
      if (!monitor) {
        const s = sandbox;
        monitor = await startMonitorServer(monitorSocketPath(s.id), { sizingReport: () => s.sizingReport(), agentUrl: () => s.agentUrl() }).catch((err: unknown) => {
          ctx.log.warn({ err }, 'management endpoint not started');
          return undefined;
        });
      }
      events.publish(TOPIC.create, {
        containerId: req.id,
        bundle: req.bundle,
        rootfs: req.rootfs,
        io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
        pid: sandbox.pid,
      });
      return { pid: sandbox.pid };
    },

    async Start(req) {
      const s = need();
      const r = record(req.id, req.execId);
      await s.start(req.id, req.execId);
      if (r.io) r.copy = attach(r.io, s.agent, req.id, s.agentExecId(req.id, req.execId));
      if (req.execId) events.publish(TOPIC.execStarted, { containerId: req.id, execId: req.execId, pid: s.pid });
      else events.publish(TOPIC.start, { containerId: req.id, pid: s.pid });
      return { pid: s.pid };
    },

    async Delete(req) {
      const s = need();
      const pid = s.pid;
      const info = await s.delete(req.id, req.execId);
      await releaseIo(req.id, req.execId);
      if (!req.execId) {
        events.publish(TOPIC.delete, { containerId: req.id, pid, exitStatus: info.exitStatus, exitedAt: goTimestamp(info.exitedAt), id: req.id });
        if (s.containerCount === 0) {
          await monitor?.close();
          monitor = undefined;
          await events.flush();
        }
      }
      return { pid, exitStatus: info.exitStatus, exitedAt: goTimestamp(info.exitedAt) };
    },

    State(req) {
      const s = need();
      const r = record(req.id, req.execId);
      const st = s.state(req.id, req.execId);
      const done = st.kind === 'stopped' || st.kind === 'deleted' ? st : undefined;
      return {
        id: req.execId || req.id,
        bundle: r.bundle,
        pid: s.pid,
        status: statusNumber(st),
        stdin: r.paths.stdin,
        stdout: r.paths.stdout,
        stderr: r.paths.stderr,
        terminal: r.paths.terminal,
        exitStatus: done?.exitStatus ?? 0,
        exitedAt: exitTimestamp(done?.exitedAt),
        execId: req.execId,
      };
    },

    Pids(req) {
      const s = need();
      s.state(req.id);
      return { processes: [{ pid: s.pid }] };
    },

    async Pause(req) {
      await need().pause(req.id);
      events.publish(TOPIC.paused, { containerId: req.id });
      return {};
    },

    async Resume(req) {
      await need().resume(req.id);
      events.publish(TOPIC.resumed, { containerId: req.id });
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
      if (records.has(key(req.id, req.execId))) throw new RuntimeError(Code.ALREADY_EXISTS, `exec ${req.execId} of container ${req.id}: already exists`);
      s.exec(req.id, req.execId, { ...process, terminal: req.terminal });
      const paths: StdioPaths = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
      const rec = newRecord(paths, record(req.id, '').bundle);
      rec.io = await openProcessIo(paths, ctx.log.child({ container: req.id, exec: req.execId }));
      records.set(key(req.id, req.execId), rec);
      events.publish(TOPIC.execAdded, { containerId: req.id, execId: req.execId });
      return {};
    },

    async ResizePty(req) {
      const s = need();
      record(req.id, req.execId);
      await s.agent.ttyWinResize(req.id, s.agentExecId(req.id, req.execId), req.height, req.width);
      return {};
    },

    async CloseIO(req) {
      const r = record(req.id, req.execId);
      if (req.stdin) await r.copy?.closeStdin();
      return {};
    },

    async Update(req) {
      const resources = decodeJsonAny<LinuxResources>(req.resources, `update of container ${req.id}: resources`);
      await need().update(req.id, resources);
      return {};
    },

    async Wait(req) {
      const r = record(req.id, req.execId);
      need().state(req.id, req.execId);
      const info = await r.reported;
      return { exitStatus: info.exitStatus, exitedAt: goTimestamp(info.exitedAt) };
    },

    async Stats(req) {
      return { stats: metricsAny(await need().stats(req.id), hostCgroupMode()) };
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
    handlers,
    shutdown: new Promise<void>(() => undefined),
    async dispose() {
      await monitor?.close();
      await sandbox?.stop();
      await events.flush();
      await events.close();
    },
  };
}
