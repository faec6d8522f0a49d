// The sandbox's resource policy: what each container asks for, whether the VM is sized
// once (static) or follows its containers, the boot size, and every resize with its
// reasons. The decisions are the pure functions of sizing.ts and static-sizing.ts.
import type { KataConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { LinuxResources, Spec } from '../oci/runtime-spec.js';
import { applyResourceUpdate, computeSizing, cpuReason, memoryReason, resourcesFromSpec, type ContainerResources, type Sizing, type SizingConfig } from './sizing.js';
import { staticSizing, type StaticSizing } from './static-sizing.js';
import { resizeVm, type ResizeOutcome, type ResizableVm } from './vm-resize.js';

export interface SizingReport {
  readonly sandboxId: string;
  readonly mode: string;
  readonly current: { readonly vcpus: number; readonly memoryMiB: number } | null;
  readonly config: Readonly<Record<string, number>>;
  readonly static: StaticSizing | null;
  readonly target: Sizing | null;
  readonly lastResize: ResizeOutcome | null;
}

export interface BootSize {
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** Static sizing raises the vCPU ceiling to the boot size. */
  readonly maxVcpus?: number;
}

export class Resources {
  readonly #requests = new Map<string, ContainerResources>();
  #fixed: StaticSizing | undefined;
  #last: Sizing | undefined;
  #lastResize: ResizeOutcome | undefined;

  constructor(
    private readonly config: KataConfig,
    /** Ids of the containers that still count (their init has not stopped). */
    private readonly active: () => readonly string[],
  ) {}

  get sizing(): Sizing | undefined {
    return this.#last;
  }

  /** Records what a new container asks for; undo with forget(). */
  track(id: string, spec: Spec): void {
    this.#requests.set(id, resourcesFromSpec(spec.linux?.resources));
  }

  forget(id: string): void {
    this.#requests.delete(id);
  }

  /** Applies an Update's resources (Kata's rules); returns the undo. */
  update(id: string, update: LinuxResources): () => void {
    const before = this.#requests.get(id) ?? {};
    this.#requests.set(id, applyResourceUpdate(before, update));
    return () => this.#requests.set(id, before);
  }

  /**
   * The size the VM boots with, from the first container's spec. Dynamic sizing boots with
   * default_memory and hot-adds the containers' share, as Kata does: hot-added blocks count
   * fully in the guest's MemTotal, boot RAM loses its memmap.
   */
  bootSize(spec: Spec, log: Logger): BootSize {
    const cfg = this.sizingConfig();
    this.#fixed = staticSizing(cfg, this.config.runtime.staticSandboxResourceMgmt, spec.annotations ?? {}, spec.linux?.resources);
    const sizing = this.compute();
    const fixed = this.#fixed;
    const size = fixed ? { vcpus: fixed.vcpus, memoryMiB: fixed.memoryMiB, maxVcpus: fixed.vcpus } : { vcpus: sizing.vcpus, memoryMiB: cfg.defaultMemoryMiB };
    log.info({ vcpus: size.vcpus, memoryMiB: size.memoryMiB, static: fixed?.source, reasons: fixed ? fixed.inputs : { cpu: sizing.cpu, memory: sizing.memory } }, 'sandbox boot size');
    return size;
  }

  /** Brings a running VM to the containers' size; a static sandbox never changes. */
  async apply(vm: ResizableVm, log: Logger, trigger: string): Promise<void> {
    if (this.#fixed) return;
    const sizing = this.compute();
    log.debug({ vcpus: sizing.vcpus, memoryMiB: sizing.memoryMiB, cpu: sizing.cpu, memory: sizing.memory }, 'sandbox sizing');
    const why = { trigger, vcpus: cpuReason(sizing.cpu), memory: memoryReason(sizing.memory) };
    this.#lastResize = await resizeVm(vm, { vcpus: sizing.vcpus, memoryMiB: sizing.memoryMiB, why }, log);
  }

  report(sandboxId: string, current: { vcpus: number; memoryMiB: number } | null): SizingReport {
    const h = this.config.hypervisor;
    return {
      sandboxId,
      mode: this.#fixed ? `static (${this.#fixed.source})` : 'dynamic: recomputed on every container create, update and delete',
      current,
      config: {
        defaultVcpus: h.defaultVcpus,
        defaultMaxVcpus: h.defaultMaxVcpus,
        defaultMemoryMiB: h.defaultMemoryMiB,
        defaultMaxMemoryMiB: h.defaultMaxMemoryMiB,
        memorySlots: h.memorySlots,
      },
      static: this.#fixed ?? null,
      target: this.#last ?? null,
      lastResize: this.#lastResize ?? null,
    };
  }

  private compute(): Sizing {
    const active = new Set(this.active());
    const shares = [...this.#requests].filter(([id]) => active.has(id)).map(([id, resources]) => ({ id, resources }));
    this.#last = computeSizing(this.sizingConfig(), shares);
    return this.#last;
  }

  private sizingConfig(): SizingConfig {
    const h = this.config.hypervisor;
    return { defaultVcpus: h.defaultVcpus, maxVcpus: h.defaultMaxVcpus, defaultMemoryMiB: h.defaultMemoryMiB, maxMemoryMiB: h.defaultMaxMemoryMiB, memoryBlockMiB: 128 };
  }
}
