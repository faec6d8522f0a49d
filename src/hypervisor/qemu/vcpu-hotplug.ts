// vCPU hotplug over QMP: add CPUs into the free slots QEMU lists, remove the most
// recently added first. Boot CPUs are never removed.
import type { Logger } from '../../log/logger.js';
import { Code, RuntimeError } from '../../errors/index.js';
import { Mutex } from '../../async/mutex.js';
import type { ResizeResult } from '../hypervisor.js';
import type { QmpCommands } from './qmp-client.js';

interface HotpluggableCpu {
  type: string;
  'vcpus-count': number;
  'qom-path'?: string;
  props: { 'socket-id'?: number; 'core-id'?: number; 'thread-id'?: number; 'node-id'?: number; 'die-id'?: number };
}

/** How long the guest gets to give up a CPU before the unplug is reported as stuck. */
const UNPLUG_TIMEOUT_MS = 15_000;

export class VcpuHotplug {
  private readonly added: string[] = [];

  constructor(
    private readonly qmp: QmpCommands,
    private readonly boot: number,
    private readonly max: number,
    private readonly log: Logger,
    /** Shared with memory hotplug by the hypervisor, so every resize of a VM runs alone. */
    private readonly lock = new Mutex(),
  ) {}

  get current(): number {
    return this.boot + this.added.length;
  }

  /** Serialized: a resize reads QEMU's free slots and then fills them, which must not interleave. */
  async resize(target: number): Promise<ResizeResult> {
    if (!Number.isInteger(target) || target < 1) {
      throw new RuntimeError(Code.INVALID_ARGUMENT, `vcpus: target ${target} must be a positive integer`);
    }
    return this.lock.run(async () => {
      if (target > this.current) return this.grow(target);
      if (target < this.current) return this.shrink(target);
      return { current: this.current };
    });
  }

  private async grow(target: number): Promise<ResizeResult> {
    const capped = Math.min(target, this.max);
    const free = (await this.qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus')).filter((c) => !c['qom-path']);
    free.sort((a, b) => (a.props['socket-id'] ?? 0) - (b.props['socket-id'] ?? 0));
    while (this.current < capped) {
      const slot = free.shift();
      if (!slot) break;
      const id = `cpu-${slot.props['socket-id'] ?? this.current}`;
      await this.qmp.execute('device_add', { driver: slot.type, id, ...slot.props });
      this.added.push(id);
      this.log.debug({ id, props: slot.props }, 'vcpu hot-added');
    }
    if (this.current >= target) return { current: this.current };
    const limitedBy = this.current >= this.max ? `maxcpus ${this.max} (default_maxvcpus)` : 'no free CPU slot left in QEMU';
    return { current: this.current, limitedBy };
  }

  private async shrink(target: number): Promise<ResizeResult> {
    while (this.current > target && this.added.length > 0) {
      const id = this.added[this.added.length - 1]!;
      await this.qmp.execute('device_del', { id });
      await this.waitGone(id);
      this.added.pop();
      this.log.debug({ id }, 'vcpu hot-removed');
    }
    return this.current > target ? { current: this.current, limitedBy: `boot vCPUs (${this.boot}) cannot be removed` } : { current: this.current };
  }

  /** The guest ejects the CPU through ACPI; it is gone once QEMU lists its slot as free. */
  private async waitGone(id: string): Promise<void> {
    const deadline = Date.now() + UNPLUG_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const cpus = await this.qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus');
      if (!cpus.some((c) => c['qom-path']?.endsWith(`/${id}`))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new RuntimeError(Code.DEADLINE_EXCEEDED, `vcpus: the guest did not release ${id} within ${UNPLUG_TIMEOUT_MS} ms`);
  }
}
