import { describe, it, expect } from 'vitest';
import { computeSizing, applyResourceUpdate, resourcesFromSpec, type SizingConfig, type ContainerShare } from '../../src/sandbox/sizing.js';
import { staticSizing, CRI_SANDBOX_CPU_PERIOD, CRI_SANDBOX_CPU_QUOTA, CRI_SANDBOX_MEMORY } from '../../src/sandbox/static-sizing.js';

const MiB = 1024 * 1024;
const cfg: SizingConfig = { defaultVcpus: 1, maxVcpus: 4, defaultMemoryMiB: 2048, maxMemoryMiB: 8192, memoryBlockMiB: 128 };
const cpu = (id: string, quota?: number, period?: number): ContainerShare => ({ id, resources: { quota, period } });
const mem = (id: string, bytes: number): ContainerShare => ({ id, resources: { memoryLimitBytes: bytes } });

describe('computeSizing: vCPUs', () => {
  it('is default_vcpus with no containers, and never below 1', () => {
    expect(computeSizing(cfg, []).vcpus).toBe(1);
    expect(computeSizing({ ...cfg, defaultVcpus: 0 }, []).vcpus).toBe(1);
    expect(computeSizing({ ...cfg, defaultVcpus: 0.5 }, []).vcpus).toBe(1);
  });

  it('adds ceil of the summed fractions: two 0.5-CPU containers add one vCPU, not two', () => {
    const s = computeSizing(cfg, [cpu('a', 50000, 100000), cpu('b', 50000, 100000)]);
    expect(s.vcpus).toBe(2);
    expect(s.cpu.containersTotal).toBe(1);
    expect(s.cpu.containers.map((c) => c.cpus)).toEqual([0.5, 0.5]);
  });

  it('rounds 1.5 CPUs up: default 1 + 1.5 → 3', () => {
    expect(computeSizing(cfg, [cpu('a', 150000, 100000)]).vcpus).toBe(3);
  });

  it('does not let float noise add a vCPU', () => {
    const s = computeSizing(cfg, [cpu('a', 10000, 100000), cpu('b', 20000, 100000), cpu('c', 70000, 100000)]);
    expect(s.vcpus).toBe(2);
  });

  it('ignores containers without both quota and period, and unlimited (-1) or zero quota', () => {
    const s = computeSizing(cfg, [cpu('a', 50000), cpu('b', undefined, 100000), cpu('c', -1, 100000), cpu('d', 0, 100000), cpu('e', 50000, 0)]);
    expect(s.vcpus).toBe(1);
    expect(s.cpu.containersTotal).toBe(0);
  });

  it('handles different periods per container', () => {
    expect(computeSizing(cfg, [cpu('a', 25000, 50000), cpu('b', 100000, 200000)]).vcpus).toBe(2);
  });

  it('caps at default_maxvcpus and says so', () => {
    const s = computeSizing(cfg, [cpu('a', 800000, 100000)]);
    expect(s.vcpus).toBe(4);
    expect(s.cpu.requested).toBe(9);
    expect(s.cpu.cap).toBe('default_maxvcpus = 4');
    expect(computeSizing(cfg, [cpu('a', 100000, 100000)]).cpu.cap).toBeUndefined();
  });

  it('keeps a fractional default_vcpus in the sum', () => {
    expect(computeSizing({ ...cfg, defaultVcpus: 0.5 }, [cpu('a', 50000, 100000)]).vcpus).toBe(1);
    expect(computeSizing({ ...cfg, defaultVcpus: 1.5 }, [cpu('a', 60000, 100000)]).vcpus).toBe(3);
  });
});

describe('computeSizing: memory', () => {
  it('is default_memory with no limits', () => {
    expect(computeSizing(cfg, []).memoryMiB).toBe(2048);
    expect(computeSizing(cfg, [mem('a', 0), mem('b', -1)]).memoryMiB).toBe(2048);
  });

  it('adds the sum of limits rounded up to whole guest blocks', () => {
    expect(computeSizing(cfg, [mem('a', 512 * MiB)]).memoryMiB).toBe(2048 + 512);
    expect(computeSizing(cfg, [mem('a', 100 * MiB)]).memoryMiB).toBe(2048 + 128);
    const s = computeSizing(cfg, [mem('a', 100 * MiB), mem('b', 100 * MiB)]);
    expect(s.memoryMiB).toBe(2048 + 256);
    expect(s.memory.containersTotalMiB).toBe(200);
    expect(s.memory.roundedMiB).toBe(256);
  });

  it('rounds a partial MiB up', () => {
    expect(computeSizing(cfg, [mem('a', 128 * MiB + 1)]).memoryMiB).toBe(2048 + 256);
  });

  it('counts hugepage limits', () => {
    expect(computeSizing(cfg, [{ id: 'h', resources: { hugepageLimitBytes: 256 * MiB } }]).memoryMiB).toBe(2048 + 256);
  });

  it('caps at the maximum and says so', () => {
    const s = computeSizing(cfg, [mem('a', 16384 * MiB)]);
    expect(s.memoryMiB).toBe(8192);
    expect(s.memory.requestedMiB).toBe(2048 + 16384);
    expect(s.memory.cap).toContain('8192');
  });
});

describe('resourcesFromSpec / applyResourceUpdate', () => {
  it('reads quota, period, memory and hugepages from linux.resources', () => {
    expect(resourcesFromSpec({ cpu: { quota: 1, period: 2 }, memory: { limit: 3 }, hugepageLimits: [{ pageSize: '2MB', limit: 4 }, { pageSize: '1GB', limit: 5 }] })).toEqual({
      quota: 1,
      period: 2,
      memoryLimitBytes: 3,
      hugepageLimitBytes: 9,
    });
    expect(resourcesFromSpec(undefined)).toEqual({});
  });

  const old = { quota: 50000, period: 100000, memoryLimitBytes: 256 * MiB };

  it('keeps the old CPU values when the update has nil or zero quota/period', () => {
    expect(applyResourceUpdate(old, {})).toEqual(old);
    expect(applyResourceUpdate(old, { cpu: { quota: 0, period: 0 } })).toEqual(old);
    expect(applyResourceUpdate(old, { cpu: { shares: 2 } })).toEqual(old);
  });

  it('replaces values that are set', () => {
    expect(applyResourceUpdate(old, { cpu: { quota: 200000 } })).toEqual({ ...old, quota: 200000 });
    expect(applyResourceUpdate(old, { cpu: { quota: 300000, period: 200000 }, memory: { limit: 1024 * MiB } })).toEqual({
      quota: 300000,
      period: 200000,
      memoryLimitBytes: 1024 * MiB,
    });
  });

  it('lets a present memory limit of -1 or 0 replace the old one (then adding nothing)', () => {
    const u = applyResourceUpdate(old, { memory: { limit: -1 } });
    expect(u.memoryLimitBytes).toBe(-1);
    expect(computeSizing(cfg, [{ id: 'a', resources: u }]).memoryMiB).toBe(2048);
  });

  it('shrinks the CPU target when a container is removed from the set', () => {
    const two = [cpu('a', 100000, 100000), cpu('b', 100000, 100000)];
    expect(computeSizing(cfg, two).vcpus).toBe(3);
    expect(computeSizing(cfg, two.slice(0, 1)).vcpus).toBe(2);
  });
});

describe('staticSizing', () => {
  it('is undefined in dynamic mode without CRI annotations', () => {
    expect(staticSizing(cfg, false, {}, { cpu: { quota: 100000, period: 100000 } })).toBeUndefined();
  });

  it('sizes from the CRI sandbox annotations, even in dynamic mode', () => {
    const s = staticSizing(cfg, false, { [CRI_SANDBOX_CPU_QUOTA]: '150000', [CRI_SANDBOX_CPU_PERIOD]: '100000', [CRI_SANDBOX_MEMORY]: String(512 * MiB) }, undefined);
    expect(s).toMatchObject({ vcpus: 3, memoryMiB: 2560, source: 'cri-annotations' });
  });

  it('treats unparsable annotations as 0', () => {
    const s = staticSizing(cfg, false, { [CRI_SANDBOX_CPU_QUOTA]: 'lots', [CRI_SANDBOX_CPU_PERIOD]: '100000' }, undefined);
    expect(s).toMatchObject({ vcpus: 1, memoryMiB: 2048 });
  });

  it('sizes from the container spec with static_sandbox_resource_mgmt', () => {
    const s = staticSizing(cfg, true, {}, { cpu: { quota: 200000, period: 100000 }, memory: { limit: 1024 * MiB } });
    expect(s).toMatchObject({ vcpus: 3, memoryMiB: 3072, source: 'static_sandbox_resource_mgmt' });
  });

  it('caps memory at the maximum', () => {
    expect(staticSizing(cfg, true, {}, { memory: { limit: 100000 * MiB } })?.memoryMiB).toBe(8192);
  });
});
