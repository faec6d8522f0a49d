// Concurrent resizes against a stand-in for QEMU's QMP that keeps its device list and,
// like QEMU, refuses a duplicate id or an occupied CPU slot: they must never collide.
import { describe, it, expect } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { VcpuHotplug } from '../../src/hypervisor/qemu/vcpu-hotplug.js';
import { MemoryHotplug } from '../../src/hypervisor/qemu/memory-hotplug.js';
import { Mutex } from '../../src/async/mutex.js';
import { QmpError, type QmpCommands, type QmpEvent } from '../../src/hypervisor/qemu/qmp-client.js';

const log = pino({ level: 'silent' });

/** QEMU's view of devices, with a little latency on every command so calls interleave. */
class FakeQemu implements QmpCommands {
  readonly deviceAdds: Array<Record<string, unknown>> = [];
  private readonly devices = new Set<string>();
  private readonly objects = new Set<string>();
  /** socket-id -> device id, for CPU slots 1..maxCpus-1 (slot 0 is the boot CPU). */
  private readonly cpuSlots = new Map<number, string | undefined>();
  private readonly listeners: Array<(e: QmpEvent) => void> = [];

  constructor(maxCpus: number) {
    for (let s = 1; s < maxCpus; s++) this.cpuSlots.set(s, undefined);
  }

  async execute<T = unknown>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    await sleep(5);
    switch (command) {
      case 'query-hotpluggable-cpus':
        return [...this.cpuSlots].map(([socket, id]) => ({
          type: 'max-x86_64-cpu',
          'vcpus-count': 1,
          props: { 'socket-id': socket, 'core-id': 0, 'thread-id': 0 },
          ...(id ? { 'qom-path': `/machine/peripheral/${id}` } : {}),
        })) as T;
      case 'object-add':
        if (this.objects.has(args.id as string)) throw new QmpError(command, 'GenericError', `attempt to add duplicate property '${args.id as string}'`);
        this.objects.add(args.id as string);
        return {} as T;
      case 'device_add': {
        const id = args.id as string;
        if (this.devices.has(id)) throw new QmpError(command, 'GenericError', `Duplicate device ID '${id}'`);
        const socket = args['socket-id'] as number | undefined;
        if (socket !== undefined && this.cpuSlots.get(socket)) throw new QmpError(command, 'GenericError', `CPU[${socket}] with APIC ID ${socket} exists`);
        this.devices.add(id);
        this.deviceAdds.push(args);
        if (socket !== undefined) this.cpuSlots.set(socket, id);
        // The guest acknowledges a DIMM later, as ACPI _OST.
        if (args.driver === 'pc-dimm') setTimeout(() => this.emit({ event: 'ACPI_DEVICE_OST', data: { info: { device: id } } }), 10);
        return {} as T;
      }
      default:
        throw new QmpError(command, 'CommandNotFound', `The command ${command} has not been found`);
    }
  }

  waitEvent(name: string, timeoutMs: number, match: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name}`)), timeoutMs);
      this.listeners.push((e) => {
        if (e.event === name && match(e)) {
          clearTimeout(timer);
          resolve(e);
        }
      });
    });
  }

  private emit(e: QmpEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
}

describe('concurrent vCPU resizes', () => {
  it('never pick the same CPU slot or id, and end at the last target', async () => {
    const qemu = new FakeQemu(4);
    const vcpus = new VcpuHotplug(qemu, 1, 4, log);
    const [a, b] = await Promise.all([vcpus.resize(2), vcpus.resize(3)]);
    expect(a).toEqual({ current: 2 });
    expect(b).toEqual({ current: 3 });
    const ids = qemu.deviceAdds.map((d) => d.id);
    const slots = qemu.deviceAdds.map((d) => d['socket-id']);
    expect(ids).toEqual(['cpu-1', 'cpu-2']);
    expect(new Set(slots).size).toBe(slots.length);
    expect(vcpus.current).toBe(3);
  });

  it('keep each call its own result when several race past the limit', async () => {
    const qemu = new FakeQemu(3);
    const vcpus = new VcpuHotplug(qemu, 1, 3, log);
    const results = await Promise.all([vcpus.resize(3), vcpus.resize(3), vcpus.resize(4)]);
    expect(results[0]).toEqual({ current: 3 });
    expect(results[1]).toEqual({ current: 3 });
    expect(results[2]).toEqual({ current: 3, limitedBy: 'maxcpus 3 (default_maxvcpus)' });
    expect(qemu.deviceAdds.map((d) => d.id)).toEqual(['cpu-1', 'cpu-2']);
  });
});

describe('concurrent memory resizes', () => {
  it('never reuse a DIMM or backend id, and reach the largest target', async () => {
    const qemu = new FakeQemu(1);
    const memory = new MemoryHotplug(qemu, { bootMiB: 512, maxMiB: 4096, slots: 4, shared: true });
    const [a, b] = await Promise.all([memory.resize(768), memory.resize(1024)]);
    expect(a).toEqual({ current: 768 });
    expect(b).toEqual({ current: 1024 });
    expect(qemu.deviceAdds).toEqual([
      { driver: 'pc-dimm', id: 'dimm1', memdev: 'mem1' },
      { driver: 'pc-dimm', id: 'dimm2', memdev: 'mem2' },
    ]);
    expect(memory.currentMiB).toBe(1024);
    expect(memory.slotsUsed).toBe(2);
  });
});

describe('vCPU and memory resizes sharing one lock (as the QEMU hypervisor wires them)', () => {
  it('run one at a time, in call order', async () => {
    const qemu = new FakeQemu(4);
    const lock = new Mutex();
    const vcpus = new VcpuHotplug(qemu, 1, 4, log, lock);
    const memory = new MemoryHotplug(qemu, { bootMiB: 512, maxMiB: 2048, slots: 2, shared: false }, lock);
    await Promise.all([vcpus.resize(2), memory.resize(1024), vcpus.resize(3)]);
    expect(qemu.deviceAdds.map((d) => d.id)).toEqual(['cpu-1', 'dimm1', 'cpu-2']);
  });
});

describe('Mutex', () => {
  it('runs sections one at a time and keeps going after a failure', async () => {
    const lock = new Mutex();
    const trace: string[] = [];
    const section = (name: string, fail = false) => async (): Promise<string> => {
      trace.push(`${name}+`);
      await sleep(5);
      trace.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([lock.run(section('a')), lock.run(section('b', true)), lock.run(section('c'))]);
    expect(trace).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
