// One host process read from /proc at one moment: what Kata's shim reports for itself and
// for the hypervisor. A file that cannot be read (the process is gone, io accounting is
// off) is left out; the caller reports what is there.
import { readFile, readdir } from 'node:fs/promises';
import { parseKeyValues, parsePidIo, parsePidStat, type PidStat, type ProcValue } from '../procfs/process.js';
import { parseNetDev, type NetDev } from '../procfs/system.js';

export interface ProcessSample {
  readonly stat?: PidStat;
  readonly status?: ReadonlyMap<string, ProcValue>;
  readonly io?: ReadonlyMap<string, number>;
  /** Open file descriptors. */
  readonly fds?: number;
  /** The devices of the process's network namespace (QEMU runs in the pod's). */
  readonly netDev?: readonly NetDev[];
}

const text = (path: string): Promise<string | undefined> => readFile(path, 'utf8').catch(() => undefined);

export async function readProcessSample(pid: number | 'self', opts: { netDev?: boolean; procRoot?: string } = {}): Promise<ProcessSample> {
  const dir = `${opts.procRoot ?? '/proc'}/${pid}`;
  const [stat, status, io, fds, netDev] = await Promise.all([
    text(`${dir}/stat`),
    text(`${dir}/status`),
    text(`${dir}/io`),
    readdir(`${dir}/fd`).then((e) => e.length, () => undefined),
    opts.netDev ? text(`${dir}/net/dev`) : Promise.resolve(undefined),
  ]);
  const parsedStat = stat === undefined ? undefined : parsePidStat(stat);
  return {
    ...(parsedStat ? { stat: parsedStat } : {}),
    ...(status !== undefined ? { status: parseKeyValues(status) } : {}),
    ...(io !== undefined ? { io: parsePidIo(io) } : {}),
    ...(fds !== undefined ? { fds } : {}),
    ...(netDev !== undefined ? { netDev: parseNetDev(netDev) } : {}),
  };
}
