// The shim's /metrics (Kata's shim management endpoint): the shim's own process, the
// hypervisor's, RPC latencies both ways and the pod overhead, through prom-client with
// Kata's names and help texts (containerd-shim-v2/shim_metrics.go,
// virtcontainers/sandbox_metrics.go), followed by the agent's GetMetrics families, parsed
// and written out again as Kata's shim does. One registry per shim: one shim, one sandbox.
import { Gauge, Histogram, Registry, exponentialBuckets } from 'prom-client';
import { withDeadline } from '../async/deadline.js';
import { Mutex } from '../async/mutex.js';
import type { Logger } from '../log/logger.js';
import { ioStatItems, netdevItems, procStatItems, procStatusItems, type LabelledValue } from './kata-items.js';
import { podOverhead, ticksToNs, type OverheadSample } from './overhead.js';
import { readProcessSample, type ProcessSample } from './process-sample.js';
import { formatPromText, parsePromText } from './prom-text.js';

/** What /metrics reads of the sandbox: values, no protocol (Sandbox fits it). */
export interface SandboxMetricsSource {
  /** The VM's host processes, QEMU first; empty when no VM runs. */
  vmPids(): readonly number[];
  /** The agent's GetMetrics answer. */
  guestMetrics(): Promise<string>;
  /** What the guest's containers use (their cgroups). */
  guestUsage(): Promise<{ readonly cpuNs: number; readonly memoryBytes: number }>;
}

export interface ShimMetricsOptions {
  readonly log: Logger;
  /** How long the guest's part of a scrape may take before it is left out of that scrape. */
  readonly guestTimeoutMs?: number;
  /** Monotonic ms, for the overhead's interval (tests). */
  readonly now?: () => number;
  readonly procRoot?: string;
}

/** The guest is asked at most this long per scrape; Prometheus' default scrape timeout is 10 s. */
export const GUEST_SCRAPE_TIMEOUT_MS = 3_000;

/** Kata: prometheus.ExponentialBuckets(1, 2, 10), in ms. */
const RPC_BUCKETS = exponentialBuckets(1, 2, 10);

/** Kata labels a task RPC with the method in snake case: ResizePty → resize_pty, CloseIO → close_io. */
export const taskRpcAction = (method: string): string => method.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

export class ShimMetrics {
  readonly #registry = new Registry();
  readonly #rpc: Histogram<'action'>;
  readonly #agentRpc: Histogram<'action'>;
  readonly #shim: ProcessGauges;
  readonly #hypervisor: ProcessGauges;
  readonly #hypervisorNetdev: Gauge<'interface' | 'item'>;
  readonly #overheadCpu: Gauge;
  readonly #overheadMemory: Gauge;
  #lastOverhead: OverheadSample | undefined;
  /** Scrapes one at a time: each resets and sets the same gauges before reading them out. */
  readonly #scrapes = new Mutex();

  constructor(private readonly opts: ShimMetricsOptions) {
    const registers = [this.#registry];
    this.#rpc = new Histogram({ name: 'kata_shim_rpc_durations_histogram_milliseconds', help: 'RPC latency distributions.', labelNames: ['action'], buckets: RPC_BUCKETS, registers });
    this.#agentRpc = new Histogram({ name: 'kata_shim_agent_rpc_durations_histogram_milliseconds', help: 'RPC latency distributions.', labelNames: ['action'], buckets: RPC_BUCKETS, registers });
    this.#shim = processGauges(registers, 'kata_shim', {
      threads: 'Kata containerd shim v2 process threads.',
      procStatus: 'Kata containerd shim v2 process status.',
      procStat: 'Kata containerd shim v2 process statistics.',
      ioStat: 'Kata containerd shim v2 process IO statistics.',
      fds: 'Kata containerd shim v2 open FDs.',
    });
    this.#overheadCpu = new Gauge({ name: 'kata_shim_pod_overhead_cpu', help: 'Kata Pod overhead for CPU resources(percent).', registers });
    this.#overheadMemory = new Gauge({ name: 'kata_shim_pod_overhead_memory_in_bytes', help: 'Kata Pod overhead for memory resources(bytes).', registers });
    this.#hypervisor = processGauges(registers, 'kata_hypervisor', {
      threads: 'Hypervisor process threads.',
      procStatus: 'Hypervisor process status.',
      procStat: 'Hypervisor process statistics.',
      ioStat: 'Process IO statistics.',
      fds: 'Open FDs for hypervisor.',
    });
    this.#hypervisorNetdev = new Gauge({ name: 'kata_hypervisor_netdev', help: 'Net devices statistics.', labelNames: ['interface', 'item'], registers });
  }

  /** A task RPC (containerd → shim) took `ms`; `method` as in the service ("ResizePty"). */
  observeTaskRpc(method: string, ms: number): void {
    this.#rpc.observe({ action: taskRpcAction(method) }, ms);
  }

  /** An agent RPC (shim → guest) took `ms`; `action` is the request's proto name. */
  readonly observeAgentRpc = (action: string, ms: number): void => {
    this.#agentRpc.observe({ action }, ms);
  };

  /** The whole /metrics body. The guest's part is left out (and logged) when it fails or is slow. */
  render(source: SandboxMetricsSource): Promise<string> {
    return this.#scrapes.run(() => this.#render(source));
  }

  async #render(source: SandboxMetricsSource): Promise<string> {
    const procRoot = this.opts.procRoot;
    const pids = source.vmPids();
    const [self, vmProcs] = await Promise.all([
      readProcessSample('self', { procRoot }),
      Promise.all(pids.map((pid, i) => readProcessSample(pid, { netDev: i === 0, procRoot }))),
    ]);
    setProcessGauges(this.#shim, self);
    const vm = vmProcs[0];
    setProcessGauges(this.#hypervisor, vm ?? {});
    this.#hypervisorNetdev.reset();
    for (const [labels, v] of netdevItems(vm?.netDev ?? [])) this.#hypervisorNetdev.set(labels as { interface: string; item: string }, v);

    const timeoutMs = this.opts.guestTimeoutMs ?? GUEST_SCRAPE_TIMEOUT_MS;
    const bounded = <T>(what: string, p: Promise<T>): Promise<T | undefined> =>
      withDeadline(p, timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`)).catch((err: unknown) => {
        this.opts.log.warn({ err: (err as Error).message }, `metrics: ${what} left out of this scrape`);
        return undefined;
      });
    const [guestText, usage] = await Promise.all([
      bounded('the guest metrics', source.guestMetrics()),
      bounded('the containers\' usage (pod overhead)', source.guestUsage()),
    ]);
    if (usage && vmProcs.length) this.#setOverhead(vmProcs, usage);

    let guest = '';
    if (guestText !== undefined) {
      try {
        guest = formatPromText(parsePromText(guestText));
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'metrics: the agent answered text that is not Prometheus text; left out');
      }
    }
    return (await this.#registry.metrics()) + guest;
  }

  #setOverhead(vmProcs: readonly ProcessSample[], usage: { cpuNs: number; memoryBytes: number }): void {
    const sample: OverheadSample = {
      atMs: (this.opts.now ?? performance.now.bind(performance))(),
      hostCpuNs: vmProcs.reduce((sum, p) => sum + (p.stat ? ticksToNs(p.stat.utime + p.stat.stime) : 0), 0),
      hostMemoryBytes: vmProcs.reduce((sum, p) => sum + (p.status?.get('VmRSS')?.value ?? 0) * 1024, 0),
      guestCpuNs: usage.cpuNs,
      guestMemoryBytes: usage.memoryBytes,
    };
    const o = podOverhead(this.#lastOverhead, sample);
    this.#lastOverhead = sample;
    this.#overheadMemory.set(o.memoryBytes);
    if (o.cpuPercent !== undefined) this.#overheadCpu.set(o.cpuPercent);
  }
}

interface ProcessGauges {
  readonly threads: Gauge;
  readonly fds: Gauge;
  readonly procStatus: Gauge<'item'>;
  readonly procStat: Gauge<'item'>;
  readonly ioStat: Gauge<'item'>;
}

type Helps = Readonly<Record<keyof ProcessGauges, string>>;

function processGauges(registers: Registry[], prefix: string, help: Helps): ProcessGauges {
  const vec = (name: string, h: string): Gauge<'item'> => new Gauge({ name: `${prefix}_${name}`, help: h, labelNames: ['item'], registers });
  return {
    threads: new Gauge({ name: `${prefix}_threads`, help: help.threads, registers }),
    procStatus: vec('proc_status', help.procStatus),
    procStat: vec('proc_stat', help.procStat),
    ioStat: vec('io_stat', help.ioStat),
    fds: new Gauge({ name: `${prefix}_fds`, help: help.fds, registers }),
  };
}

function setItems(g: Gauge<'item'>, items: readonly LabelledValue[] | undefined): void {
  g.reset();
  for (const [labels, v] of items ?? []) g.set(labels as { item: string }, v);
}

/** What the sample has; a process that is gone leaves its labelled gauges empty. */
function setProcessGauges(g: ProcessGauges, p: ProcessSample): void {
  g.threads.set(p.stat?.numThreads ?? 0);
  g.fds.set(p.fds ?? 0);
  setItems(g.procStatus, p.status && procStatusItems(p.status, 'host'));
  setItems(g.procStat, p.stat && procStatItems(p.stat));
  setItems(g.ioStat, p.io && ioStatItems(p.io, 'host'));
}
