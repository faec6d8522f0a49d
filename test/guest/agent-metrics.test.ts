// GetMetrics end to end on the host: the test-mode agent answers over ttrpc, the shim's
// agent client returns the text and reports every RPC's duration by request name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { AgentClient } from '../../src/agent/agent-client.js';
import { createLogger } from '../../src/log/logger.js';
import { parsePromText } from '../../src/metrics/prom-text.js';
import { startHarness, type Harness } from './agent-harness.js';

describe('agent GetMetrics', () => {
  let h: Harness;
  let client: AgentClient;
  const observed: Array<[string, number]> = [];

  beforeAll(async () => {
    h = await startHarness();
    client = await AgentClient.connect(`unix://${join(h.dir, 'agent.sock')}`, {
      timeoutMs: 5000,
      log: createLogger({ level: 'silent' }),
      onRpc: (action, ms) => observed.push([action, ms]),
    });
  });

  afterAll(async () => {
    client?.close();
    await h?.close();
  });

  it('answers Prometheus text with the guest and agent families, counting scrapes', async () => {
    const first = parsePromText(await client.getMetrics());
    const second = parsePromText(await client.getMetrics());
    const names = second.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['kata_agent_total_rss', 'kata_guest_meminfo', 'kata_guest_cpu_time', 'kata_guest_load', 'kata_guest_vm_stat', 'kata_guest_netdev_stat']));
    const count = (f: typeof first): number | undefined => f.find((x) => x.name === 'kata_agent_scrape_count')?.samples[0]?.value;
    expect(count(second)).toBe(count(first)! + 1);
  });

  it("reports each call's duration under the request's proto name, as Kata's runtime does", async () => {
    await client.getMetrics();
    await client.check();
    const actions = observed.map(([a]) => a);
    expect(actions).toContain('grpc.GetMetricsRequest');
    expect(actions).toContain('grpc.CheckRequest');
    expect(observed.every(([, ms]) => ms >= 0)).toBe(true);
  });

  it('a failed call is reported too', async () => {
    const before = observed.length;
    await expect(client.statsContainer('no-such-container')).rejects.toThrow();
    expect(observed.slice(before).map(([a]) => a)).toEqual(['grpc.StatsContainerRequest']);
  });
});
