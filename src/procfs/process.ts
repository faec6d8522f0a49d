// One process as /proc/<pid>/{stat,status,io} shows it, parsed. Pure: callers read the
// files (the host shim for itself and QEMU, the guest agent for itself).

/** The kernel's USER_HZ: /proc counts CPU time in these (100 on every Linux we run on). */
const CLOCK_TICKS_PER_SECOND = 100;

const PER_SECOND = { s: 1, ms: 1e3, ns: 1e9 } as const;

/** CPU time in clock ticks, as /proc counts it, in `unit`; multiplied before divided, so whole results stay whole. */
export const clockTicksTo = (ticks: number, unit: keyof typeof PER_SECOND): number => (ticks * PER_SECOND[unit]) / CLOCK_TICKS_PER_SECOND;

/** The fields of /proc/<pid>/stat that anything here uses. */
export interface PidStat {
  /** One letter of proc(5): R running, S sleeping, D disk wait, T stopped, t traced, Z zombie... */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  /** CPU time in clock ticks (USER_HZ): own user and system, and of waited-for children. */
  readonly utime: number;
  readonly stime: number;
  readonly cutime: number;
  readonly cstime: number;
  readonly numThreads: number;
  /** Virtual memory size in bytes. */
  readonly vsize: number;
  /** Resident set in pages. */
  readonly rssPages: number;
}

/**
 * A /proc/<pid>/stat line. The command name in parentheses may itself hold spaces and
 * parentheses, so the fields start after the last ')'.
 */
export function parsePidStat(stat: string): PidStat | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = stat.slice(close + 1).trim().split(/\s+/);
  const [state, ppid, pgid] = f;
  if (!state || !/^[A-Za-z]$/.test(state) || !ppid || !pgid) return undefined;
  // proc(5) numbers fields from 1 with the pid; f[0] is field 3 (state).
  const field = (n: number): number => Number(f[n - 3] ?? 0) || 0;
  return {
    state,
    ppid: Number(ppid),
    pgid: Number(pgid),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    numThreads: field(20),
    vsize: field(23),
    rssPages: field(24),
  };
}

/** A number with its unit as /proc prints it: "kB" or none. */
export interface ProcValue {
  readonly value: number;
  readonly kB: boolean;
}

/**
 * `Key: value [kB]` lines (/proc/<pid>/status, /proc/meminfo), by key as the kernel
 * spells it. Lines whose value is not a number (Name, State, Cpus_allowed) are skipped.
 */
export function parseKeyValues(text: string): Map<string, ProcValue> {
  const out = new Map<string, ProcValue>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const [value, unit] = line.slice(colon + 1).trim().split(/\s+/);
    if (value === undefined || !/^\d+$/.test(value)) continue;
    out.set(line.slice(0, colon).trim(), { value: Number(value), kB: unit === 'kB' });
  }
  return out;
}

/** /proc/<pid>/io: rchar, wchar, syscr, syscw, read_bytes, write_bytes, cancelled_write_bytes. */
export function parsePidIo(text: string): Map<string, number> {
  return new Map([...parseKeyValues(text)].map(([k, v]) => [k, v.value]));
}
