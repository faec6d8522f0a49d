// Memory hotplug over QMP: one DIMM (one slot) per growth step. Memory never shrinks
// (QEMU 7.2 can crash unplugging a DIMM after a CPU unplug).
import { Code, RuntimeError } from '../../errors/index.js';
import { Mutex } from '../../async/mutex.js';
import type { ResizeResult } from '../hypervisor.js';
import type { QmpCommands } from './qmp-client.js';

/** How long the guest gets to acknowledge a new DIMM before onlining is attempted anyway. */
const GUEST_ACK_TIMEOUT_MS = 10_000;

export interface MemoryHotplugLimits {
  readonly bootMiB: number;
  readonly maxMiB: number;
  readonly slots: number;
  /** virtio-fs needs every byte of guest RAM shareable with virtiofsd. */
  readonly shared: boolean;
}

export class MemoryHotplug {
  private addedMiB = 0;
  private used = 0;

  constructor(
    private readonly qmp: QmpCommands,
    private readonly limits: MemoryHotplugLimits,
    /** Shared with vCPU hotplug by the hypervisor, so every resize of a VM runs alone. */
    private readonly lock = new Mutex(),
  ) {}

  get currentMiB(): number {
    return this.limits.bootMiB + this.addedMiB;
  }

  get slotsUsed(): number {
    return this.used;
  }

  /** Serialized: the next DIMM's id comes from the slots used so far, which must not interleave. */
  async resize(targetMiB: number): Promise<ResizeResult> {
    if (!Number.isInteger(targetMiB) || targetMiB < 0) {
      throw new RuntimeError(Code.INVALID_ARGUMENT, `memory: target ${targetMiB} MiB must be a non-negative integer`);
    }
    return this.lock.run(() => this.grow(targetMiB));
  }

  private async grow(targetMiB: number): Promise<ResizeResult> {
    if (targetMiB <= this.currentMiB) {
      return targetMiB < this.currentMiB
        ? { current: this.currentMiB, limitedBy: 'memory is never hot-removed' }
        : { current: this.currentMiB };
    }
    if (this.used >= this.limits.slots) {
      return { current: this.currentMiB, limitedBy: `all ${this.limits.slots} memory slots are used (memory_slots)` };
    }
    const room = this.limits.maxMiB - this.currentMiB;
    const step = Math.min(targetMiB - this.currentMiB, room);
    if (step <= 0) return { current: this.currentMiB, limitedBy: `maxmem ${this.limits.maxMiB} MiB reached` };
    await this.addDimm(step);
    return this.currentMiB < targetMiB ? { current: this.currentMiB, limitedBy: `maxmem ${this.limits.maxMiB} MiB reached` } : { current: this.currentMiB };
  }

  private async addDimm(sizeMiB: number): Promise<void> {
    const n = this.used + 1;
    const backend = `mem${n}`;
    await this.qmp.execute('object-add', {
      'qom-type': this.limits.shared ? 'memory-backend-memfd' : 'memory-backend-ram',
      id: backend,
      size: sizeMiB * 1024 * 1024,
      ...(this.limits.shared ? { share: true } : {}),
    });
    const dimm = `dimm${n}`;
    // The guest adds the memory blocks when it handles the ACPI notification; onlining
    // before its _OST acknowledgement would find nothing to online (slow under TCG).
    const acknowledged = this.qmp
      .waitEvent('ACPI_DEVICE_OST', GUEST_ACK_TIMEOUT_MS, (e) => (e.data?.info as { device?: string } | undefined)?.device === dimm)
      .catch(() => undefined);
    try {
      await this.qmp.execute('device_add', { driver: 'pc-dimm', id: dimm, memdev: backend });
    } catch (err) {
      await this.qmp.execute('object-del', { id: backend }).catch(() => undefined);
      throw err;
    }
    await acknowledged;
    this.used = n;
    this.addedMiB += sizeMiB;
  }
}
