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

/** The size wanted, and why (for the log line of each hotplug). */
export interface ResizeTarget {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly why?: {
    /** What asked for it, e.g. "container created". */
    readonly trigger: string;
    readonly vcpus: string;
    readonly memory: string;
  };
}

export async function resizeVm(vm: ResizableVm, target: ResizeTarget, log: Logger): Promise<ResizeOutcome> {
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
  } else if (target.vcpus !== before.vcpus) {
    vcpus = { current: before.vcpus, limitedBy: `this VM cannot hot-${target.vcpus > before.vcpus ? 'add' : 'unplug'} vCPUs` };
  }
  logHotplug(log, 'memory', before.memoryMiB, memoryMiB, target.memoryMiB, target.why?.memory, target.why?.trigger);
  logHotplug(log, 'vcpus', before.vcpus, vcpus, target.vcpus, target.why?.vcpus, target.why?.trigger);
  return { vcpus, memoryMiB };
}

/**
 * One line per resource that changed or fell short, none when it already had its size. A VM
 * smaller than its containers need is a warning; one that cannot shrink (memory is never
 * hot-removed) is not.
 */
function logHotplug(log: Logger, resource: 'vcpus' | 'memory', from: number, r: ResizeResult, target: number, reason?: string, trigger?: string): void {
  if (r.current === from && r.current === target) return;
  const what = r.current > from ? 'hotplugged' : r.current < from ? 'hot-unplugged' : 'not resized';
  const fields = { resource, from, to: r.current, target, ...(trigger ? { trigger } : {}), ...(reason ? { reason } : {}), ...(r.limitedBy ? { limitedBy: r.limitedBy } : {}) };
  if (r.current < target) log.warn(fields, `${resource} ${what}`);
  else log.info(fields, `${resource} ${what}`);
}
