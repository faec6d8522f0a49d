// The shim's /metrics (Kata's shim management endpoint): the shim's own process, the
// hypervisor's, RPC latencies both ways and the pod overhead, with Kata's names and help
// texts (containerd-shim-v2/shim_metrics.go, virtcontainers/sandbox_metrics.go), followed
// by the agent's GetMetrics families, parsed and written out again as Kata's shim does.
// Written with our own Prometheus text code rather than a client library: the gauges are
// read at each scrape anyway, and prom-client cost each shim ~1 MB (docs/performance.md).
import { withDeadline } from '../async/deadline.js';
import { Mutex } from '../async/mutex.js';
import type { Logger } from '../log/logger.js';
import { clockTicksTo } from '../procfs/process.js';
import { exponentialBuckets, LabelledHistogram } from './histogram.js';
import { ioStatItems, netdevItems, procStatItems, procStatusItems, type LabelledValue } from './kata-items.js';
import { podOverhead, type OverheadSample } from './overhead.js';
import { readProcessSample, type ProcessSample } from './process-sample.js';
import { formatPromText, gauge, parsePromText, type MetricFamily } from './prom-text.js';

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
  readonly #rpc = new LabelledHistogram('kata_shim_rpc_durations_histogram_milliseconds', 'RPC latency distributions.', 'action', RPC_BUCKETS);
  readonly #agentRpc = new LabelledHistogram('kata_shim_agent_rpc_durations_histogram_milliseconds', 'RPC latency distributions.', 'action', RPC_BUCKETS);
  /** The pod overhead of the last scrape; CPU needs two scrapes, and reads 0 until then. */
  #overhead = { cpuPercent: 0, memoryBytes: 0 };
  #lastOverhead: OverheadSample | undefined;
  /** Scrapes one at a time: each computes the overhead from the one before. */
  readonly #scrapes = new Mutex();

  constructor(private readonly opts: ShimMetricsOptions) {}

  /** A task RPC (containerd → shim) took `ms`; `method` as in the service ("ResizePty"). */
  observeTaskRpc(method: string, ms: number): void {
    this.#rpc.observe(taskRpcAction(method), ms);
  }

  /** An agent RPC (shim → guest) took `ms`; `action` is the request's proto name. */
  readonly observeAgentRpc = (action: string, ms: number): void => {
    this.#agentRpc.observe(action, ms);
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
    const vm = vmProcs[0];

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

    let guest: MetricFamily[] = [];
    if (guestText !== undefined) {
      try {
        guest = parsePromText(guestText);
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, 'metrics: the agent answered text that is not Prometheus text; left out');
      }
    }
    return formatPromText([
      this.#rpc.family(),
      this.#agentRpc.family(),
      ...processFamilies('kata_shim', SHIM_HELP, self),
      gauge('kata_shim_pod_overhead_cpu', 'Kata Pod overhead for CPU resources(percent).', [[{}, this.#overhead.cpuPercent]]),
      gauge('kata_shim_pod_overhead_memory_in_bytes', 'Kata Pod overhead for memory resources(bytes).', [[{}, this.#overhead.memoryBytes]]),
      // A VM that is gone leaves the hypervisor's labelled families empty.
      ...processFamilies('kata_hypervisor', HYPERVISOR_HELP, vm ?? {}),
      gauge('kata_hypervisor_netdev', 'Net devices statistics.', netdevItems(vm?.netDev ?? [])),
      ...guest,
    ]);
  }

  #setOverhead(vmProcs: readonly ProcessSample[], usage: { cpuNs: number; memoryBytes: number }): void {
    const sample: OverheadSample = {
      atMs: (this.opts.now ?? performance.now.bind(performance))(),
      hostCpuNs: vmProcs.reduce((sum, p) => sum + (p.stat ? clockTicksTo(p.stat.utime + p.stat.stime, 'ns') : 0), 0),
      hostMemoryBytes: vmProcs.reduce((sum, p) => sum + (p.status?.get('VmRSS')?.value ?? 0) * 1024, 0),
      guestCpuNs: usage.cpuNs,
      guestMemoryBytes: usage.memoryBytes,
    };
    const o = podOverhead(this.#lastOverhead, sample);
    this.#lastOverhead = sample;
    this.#overhead = { memoryBytes: o.memoryBytes, cpuPercent: o.cpuPercent ?? this.#overhead.cpuPercent };
  }
}

interface ProcessHelp {
  readonly threads: string;
  readonly procStatus: string;
  readonly procStat: string;
  readonly ioStat: string;
  readonly fds: string;
}

const SHIM_HELP: ProcessHelp = {
  threads: 'Kata containerd shim v2 process threads.',
  procStatus: 'Kata containerd shim v2 process status.',
  procStat: 'Kata containerd shim v2 process statistics.',
  ioStat: 'Kata containerd shim v2 process IO statistics.',
  fds: 'Kata containerd shim v2 open FDs.',
};

const HYPERVISOR_HELP: ProcessHelp = {
  threads: 'Hypervisor process threads.',
  procStatus: 'Hypervisor process status.',
  procStat: 'Hypervisor process statistics.',
  ioStat: 'Process IO statistics.',
  fds: 'Open FDs for hypervisor.',
};

/** One process's families, in Kata's order; what the sample lacks is 0 or an empty family. */
function processFamilies(prefix: string, help: ProcessHelp, p: ProcessSample): MetricFamily[] {
  const items = (list: readonly LabelledValue[] | undefined): readonly LabelledValue[] => list ?? [];
  return [
    gauge(`${prefix}_threads`, help.threads, [[{}, p.stat?.numThreads ?? 0]]),
    gauge(`${prefix}_proc_status`, help.procStatus, items(p.status && procStatusItems(p.status, 'host'))),
    gauge(`${prefix}_proc_stat`, help.procStat, items(p.stat && procStatItems(p.stat))),
    gauge(`${prefix}_io_stat`, help.ioStat, items(p.io && ioStatItems(p.io, 'host'))),
    gauge(`${prefix}_fds`, help.fds, [[{}, p.fds ?? 0]]),
  ];
}
