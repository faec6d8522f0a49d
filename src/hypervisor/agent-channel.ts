// How the agent reaches the guest: vhost-vsock when the host has it (Kata's way on QEMU:
// claim a guest CID on /dev/vhost-vsock, hand the descriptor to QEMU), virtio-serial
// otherwise. The choice is pure; probing the host is the thin part below it.
import { randomInt } from 'node:crypto';
import { closeSync, existsSync } from 'node:fs';

export const VHOST_VSOCK_DEVICE = '/dev/vhost-vsock';

/** CIDs 0-2 are reserved (hypervisor, local, host); 2^32-1 is VMADDR_CID_ANY. */
export const FIRST_GUEST_CID = 3;
export const LAST_GUEST_CID = 0xffff_fffe;

/** What the probe needs of the native addon (native/vsock); VsockBinding has it. */
export interface VhostVsockOpener {
  openVhostVsock(path: string, startCid: number): { fd: number; cid: number };
}

/** One look at the host: a claimed CID and the descriptor holding it, or where and why it failed. */
export type VhostVsockProbe =
  | { readonly ok: true; readonly fd: number; readonly cid: number }
  | {
      readonly ok: false;
      /** missing: no device node; addon: the native binding did not load; open/cid: the syscall that failed. */
      readonly stage: 'missing' | 'addon' | 'open' | 'cid';
      /** errno name when a syscall failed, e.g. EACCES, EADDRINUSE. */
      readonly code?: string;
      readonly message: string;
    };

export interface AgentChannelFacts {
  readonly device: string;
  readonly vhostVsock: VhostVsockProbe;
}

/** The agent channel for one VM, with the reason it was chosen (for the log). */
export type AgentChannel =
  | { readonly kind: 'vsock'; readonly cid: number; readonly vhostFd: number; readonly reason: string }
  | { readonly kind: 'serial'; readonly reason: string };

export function chooseAgentChannel(facts: AgentChannelFacts): AgentChannel {
  const { device, vhostVsock: v } = facts;
  if (v.ok) return { kind: 'vsock', cid: v.cid, vhostFd: v.fd, reason: `vhost-vsock: ${device} opened and guest CID ${v.cid} claimed` };
  const why = {
    missing: `${device} does not exist (no vhost_vsock module on this host)`,
    addon: `the vsock native addon is not available (${v.message})`,
    open: `${device} cannot be opened (${v.message})`,
    cid: `no guest CID could be claimed on ${device} (${v.message})`,
  }[v.stage];
  return { kind: 'serial', reason: `virtio-serial: ${why}` };
}

/** Kata starts its search at a random CID, so other processes cannot predict which one a VM gets. */
export const randomStartCid = (): number => randomInt(FIRST_GUEST_CID, LAST_GUEST_CID + 1);

export interface ProbeOptions {
  /** Loads the native addon; in the shim: `loadVsockBinding` (src/agent/transport/native-vsock.ts). May throw. */
  readonly loadAddon: () => VhostVsockOpener;
  readonly device?: string;
  readonly startCid?: number;
}

/** Opens the device and claims a CID; never throws, every failure becomes a fact. */
export function probeVhostVsock(o: ProbeOptions): VhostVsockProbe {
  const device = o.device ?? VHOST_VSOCK_DEVICE;
  if (!existsSync(device)) return { ok: false, stage: 'missing', code: 'ENOENT', message: `${device} does not exist` };
  let addon: VhostVsockOpener;
  try {
    addon = o.loadAddon();
  } catch (err) {
    return { ok: false, stage: 'addon', message: (err as Error).message };
  }
  try {
    const { fd, cid } = addon.openVhostVsock(device, o.startCid ?? randomStartCid());
    return { ok: true, fd, cid };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, stage: e.syscall === 'ioctl' ? 'cid' : 'open', ...(e.code ? { code: e.code } : {}), message: e.message };
  }
}

/** Probes the host and chooses. A vsock result carries an open descriptor: see releaseAgentChannel. */
export function probeAgentChannel(o: ProbeOptions): AgentChannel {
  const device = o.device ?? VHOST_VSOCK_DEVICE;
  return chooseAgentChannel({ device, vhostVsock: probeVhostVsock({ ...o, device }) });
}

/**
 * Frees the CID of a channel whose VM will never be created. Once a QemuHypervisor has
 * been built from a spec carrying the descriptor, the hypervisor closes it instead.
 */
export function releaseAgentChannel(c: AgentChannel): void {
  if (c.kind !== 'vsock') return;
  try {
    closeSync(c.vhostFd);
  } catch {
    // Already closed: the CID is free either way.
  }
}
