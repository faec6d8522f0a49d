// Applies a sizing decision to a running VM: hotplug through the hypervisor, then ask
// the agent to bring the new CPUs and memory blocks online. Limits are reported, not
// thrown: a capped sandbox keeps running.
import type { Agent } from '../agent/agent.js';
import type { Hypervisor, ResizeResult } from '../hypervisor/hypervisor.js';
import type { Logger } from '../log/logger.js';

export interface ResizeOutcome {
  readonly vcpus: ResizeResult;
  readonly memoryMiB: ResizeResult;
}

/** What a resize needs: the hypervisor to hotplug and the agent to online. */
export interface ResizableVm {
  readonly hypervisor: Hypervisor;
  readonly agent: Agent;
}

export async function resizeVm(
  vm: ResizableVm,
  target: { readonly vcpus: number; readonly memoryMiB: number },
  log: Logger,
): Promise<ResizeOutcome> {
  const { hypervisor, agent } = vm;
  const before = hypervisor.resources();
  // Memory first: QEMU 7.2 must never see a DIMM change after a CPU unplug.
  let memoryMiB: ResizeResult = { current: before.memoryMiB };
  if (target.memoryMiB !== before.memoryMiB && hypervisor.capabilities.memoryHotplug) {
    memoryMiB = await hypervisor.resizeMemory(target.memoryMiB);
    if (memoryMiB.current > before.memoryMiB) await agent.onlineCpuMem({ nbCpus: 0, cpuOnly: false });
  }
  let vcpus: ResizeResult = { current: before.vcpus };
  const canChange = target.vcpus > before.vcpus ? hypervisor.capabilities.cpuHotplug : hypervisor.capabilities.cpuHotUnplug;
  if (target.vcpus !== before.vcpus && canChange) {
    vcpus = await hypervisor.resizeVcpus(target.vcpus);
    if (vcpus.current > before.vcpus) await agent.onlineCpuMem({ nbCpus: vcpus.current, cpuOnly: true });
  }
  for (const [what, r, want] of [['vcpus', vcpus, target.vcpus], ['memory MiB', memoryMiB, target.memoryMiB]] as const) {
    if (r.current !== want) log.warn({ target: want, current: r.current, limitedBy: r.limitedBy }, `sandbox ${what} capped`);
  }
  log.info({ from: before, to: { vcpus: vcpus.current, memoryMiB: memoryMiB.current } }, 'sandbox resized');
  return { vcpus, memoryMiB };
}
