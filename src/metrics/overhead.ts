// Kata's pod overhead (containerd-shim-v2/shim_metrics.go calcOverhead): what the VM costs
// the host beyond what its containers use. Kata compares the sandbox's host cgroup with the
// containers' guest cgroups over a one-second sleep; here the host side is the VM's
// processes (QEMU and its helpers, from /proc) and the interval is the one between two
// scrapes, so a scrape never waits. Pure.

export interface OverheadSample {
  /** When the sample was taken, in ms on a monotonic clock. */
  readonly atMs: number;
  /** CPU time the VM's host processes have used, in ns. */
  readonly hostCpuNs: number;
  /** Resident memory of the VM's host processes, in bytes. */
  readonly hostMemoryBytes: number;
  /** CPU time the containers' cgroups in the guest have used, in ns. */
  readonly guestCpuNs: number;
  /** Memory the containers' cgroups in the guest use, in bytes. */
  readonly guestMemoryBytes: number;
}

export interface PodOverhead {
  /** Percent of one CPU over the interval since `prev`; undefined without a previous sample. */
  readonly cpuPercent: number | undefined;
  readonly memoryBytes: number;
}

export function podOverhead(prev: OverheadSample | undefined, cur: OverheadSample): PodOverhead {
  const memoryBytes = cur.hostMemoryBytes - cur.guestMemoryBytes;
  const elapsedNs = prev ? (cur.atMs - prev.atMs) * 1e6 : 0;
  if (!prev || elapsedNs <= 0) return { cpuPercent: undefined, memoryBytes };
  const host = cur.hostCpuNs - prev.hostCpuNs;
  const guest = cur.guestCpuNs - prev.guestCpuNs;
  return { cpuPercent: ((host - guest) / elapsedNs) * 100, memoryBytes };
}
