// Everything a kata sandbox may leave on the host, looked up by sandbox id: processes
// (QEMU, virtiofsd, shim daemon), share mounts, state directories and the shim socket.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { shimSocketPath } from '../../src/shim/address.js';

export interface Leftovers {
  qemu: string[];
  virtiofsd: string[];
  shims: string[];
  mounts: string[];
  paths: string[];
}

const SHARED = '/run/kata-containers/shared/sandboxes';

function psLines(): string[] {
  return execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n');
}

/** The command line has `-id <id>`, in the middle or as its last words (no -bundle or -debug after it). */
const hasIdFlag = (line: string, id: string): boolean => `${line} `.includes(` -id ${id} `);

/** Pids of QEMU processes booted for `sandboxId` (QEMU is named sandbox-<id>). */
export function qemuPids(sandboxId: string): number[] {
  return psLines()
    .filter((l) => l.includes('qemu-system') && l.includes(`sandbox-${sandboxId} `))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Pids of shim daemons serving `id` (start and delete exit quickly; the daemon has no action). */
export function shimDaemonPids(id: string): number[] {
  return psLines()
    .filter((l) => l.includes('containerd-shim-kata-v2') && hasIdFlag(l, id) && !/ (start|delete)\s*$/.test(l))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

export function leftovers(sandboxId: string, containerdAddress: string, namespace = 'default'): Leftovers {
  const ps = psLines();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`${SHARED}/${sandboxId}`));
  const socket = shimSocketPath(containerdAddress, namespace, sandboxId);
  return {
    qemu: ps.filter((l) => l.includes('qemu-system') && l.includes(`sandbox-${sandboxId} `)),
    virtiofsd: ps.filter((l) => l.includes('virtiofsd') && l.includes(`${SHARED}/${sandboxId}`)),
    shims: ps.filter((l) => l.includes('containerd-shim-kata-v2') && hasIdFlag(l, sandboxId)),
    mounts,
    paths: [`/run/vc/sbs/${sandboxId}`, `/run/vc/vm/${sandboxId}`, `${SHARED}/${sandboxId}`, socket].filter((p) => existsSync(p)),
  };
}

export const NOTHING_LEFT: Leftovers = { qemu: [], virtiofsd: [], shims: [], mounts: [], paths: [] };
