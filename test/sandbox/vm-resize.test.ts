// resizeVm against the fake hypervisor and agent: what it asks of each, and what it reports.
import { describe, it, expect } from 'vitest';
import type { HypervisorCapabilities } from '../../src/hypervisor/hypervisor.js';
import { createLogger } from '../../src/log/logger.js';
import { resizeVm } from '../../src/sandbox/vm-resize.js';
import { FakeAgent, FakeHypervisor } from './fake-vm.js';

const log = createLogger({ level: 'silent' });

/** A VM whose hypervisor lacks some capabilities (as QEMU with a bounded TCG cache cannot unplug vCPUs). */
function vm(caps: Partial<HypervisorCapabilities> = {}) {
  const hypervisor = new FakeHypervisor({ vcpus: 1, memoryMiB: 512 });
  Object.assign(hypervisor, { capabilities: { ...hypervisor.capabilities, ...caps } });
  return { hypervisor, agent: new FakeAgent() };
}

describe('resizeVm', () => {
  it('hot-adds vCPUs and memory, then has the agent online them', async () => {
    const v = vm();
    const r = await resizeVm(v, { vcpus: 3, memoryMiB: 1024 }, log);
    expect(r).toEqual({ vcpus: { current: 3 }, memoryMiB: { current: 1024 } });
    expect(v.agent.calls).toEqual(['OnlineCPUMem 0 false', 'OnlineCPUMem 3 true']);
  });

  it('removes vCPUs where the hypervisor can', async () => {
    const v = vm();
    await resizeVm(v, { vcpus: 3, memoryMiB: 512 }, log);
    expect((await resizeVm(v, { vcpus: 1, memoryMiB: 512 }, log)).vcpus).toEqual({ current: 1 });
    expect(v.hypervisor.resources().vcpus).toBe(1);
  });

  it('keeps its vCPUs and says why where the hypervisor cannot unplug them; adding still works', async () => {
    const v = vm({ cpuHotUnplug: false });
    expect((await resizeVm(v, { vcpus: 3, memoryMiB: 512 }, log)).vcpus).toEqual({ current: 3 });
    const r = await resizeVm(v, { vcpus: 1, memoryMiB: 512 }, log);
    expect(r.vcpus).toEqual({ current: 3, limitedBy: 'this VM cannot hot-unplug vCPUs' });
    expect(v.hypervisor.resources().vcpus).toBe(3);
  });

  it('reports a VM that cannot hot-add vCPUs, without asking the agent to online any', async () => {
    const v = vm({ cpuHotplug: false });
    const r = await resizeVm(v, { vcpus: 2, memoryMiB: 512 }, log);
    expect(r.vcpus).toEqual({ current: 1, limitedBy: 'this VM cannot hot-add vCPUs' });
    expect(v.agent.calls).toEqual([]);
  });
});
