// kata-monitor's core (Kata's pkg/kata-monitor): scrapes every running sandbox's shim,
// labels each sample with the sandbox (and its CRI pod), and merges them into one
// exposition with the monitor's own kata_monitor_* families. A shim that does not answer
// (hung, gone, broken text) is left out of that scrape and counted in
// kata_monitor_scrape_failed_count; the scrape itself still succeeds.
import type { Logger } from '../log/logger.js';
import { exponentialBuckets, Histogram } from '../metrics/histogram.js';
import { parseSandboxMetadata, podLabels, type SandboxMetadata } from '../metrics/pod-labels.js';
import { counter, formatPromText, gauge, mergeFamilies, parsePromText, withLabels, type MetricFamily } from '../metrics/prom-text.js';
import { getFromShim, monitorSocketOf } from '../shim/monitor-client.js';
import { findSandboxes, type SandboxSocket } from './discovery.js';

export interface KataMonitorOptions {
  /** Where the sandboxes' state directories are (/run/vc/sbs). */
  readonly sandboxesRoot: string;
  /** How long one shim may take to answer. */
  readonly shimTimeoutMs: number;
  readonly log: Logger;
}

export class KataMonitor {
  #scrapes = 0;
  #failed = 0;
  readonly #durations = new Histogram('kata_monitor_scrape_durations_histogram_milliseconds', 'Time used to scrape from shims', exponentialBuckets(1, 2, 10));
  /** Which pod each sandbox is: asked once per sandbox, forgotten when it is gone. */
  readonly #metadata = new Map<string, SandboxMetadata>();

  constructor(private readonly opts: KataMonitorOptions) {}

  /** The running sandboxes' ids. */
  async sandboxes(): Promise<string[]> {
    return (await findSandboxes(this.opts.sandboxesRoot)).map((s) => s.sandboxId);
  }

  /** The whole node: the monitor's families, then every answering sandbox's, labelled and merged. */
  async metrics(): Promise<string> {
    const t0 = performance.now();
    this.#scrapes++;
    const found = await findSandboxes(this.opts.sandboxesRoot);
    for (const id of this.#metadata.keys()) if (!found.some((s) => s.sandboxId === id)) this.#metadata.delete(id);
    const results = await Promise.all(found.map((s) => this.#scrape(s)));
    const sandboxes = mergeFamilies(results.filter((r): r is MetricFamily[] => r !== undefined));
    this.#durations.observe(performance.now() - t0);
    return formatPromText([
      gauge('kata_monitor_running_shim_count', 'Running shim count(running sandboxes).', [[{}, found.length]]),
      counter('kata_monitor_scrape_count', 'Scape count.', this.#scrapes),
      counter('kata_monitor_scrape_failed_count', 'Failed scape count.', this.#failed),
      this.#durations.family(),
      ...sandboxes,
    ]);
  }

  /** One sandbox's own /metrics, as its shim wrote it (Kata's /metrics?sandbox=). */
  async sandboxMetrics(sandboxId: string): Promise<string> {
    return getFromShim(this.#socketOf(sandboxId), '/metrics', this.opts.shimTimeoutMs);
  }

  async agentUrl(sandboxId: string): Promise<string> {
    return (await getFromShim(this.#socketOf(sandboxId), '/agent-url', this.opts.shimTimeoutMs)).trim();
  }

  #socketOf(sandboxId: string): string {
    return monitorSocketOf(sandboxId, this.opts.sandboxesRoot);
  }

  async #scrape(s: SandboxSocket): Promise<MetricFamily[] | undefined> {
    const timeout = this.opts.shimTimeoutMs;
    try {
      const [meta, text] = await Promise.all([
        this.#metadata.get(s.sandboxId) ?? getFromShim(s.socketPath, '/sandbox-metadata', timeout).then(parseSandboxMetadata),
        getFromShim(s.socketPath, '/metrics', timeout),
      ]);
      if (meta.sandboxId !== s.sandboxId) throw new Error(`the shim says it serves sandbox ${meta.sandboxId}`);
      this.#metadata.set(s.sandboxId, meta);
      return withLabels(parsePromText(text), podLabels(meta));
    } catch (err) {
      this.#failed++;
      this.opts.log.warn({ sandbox: s.sandboxId, err: (err as Error).message }, 'sandbox left out of this scrape');
      return undefined;
    }
  }
}
