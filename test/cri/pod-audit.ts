// What a kata pod may leave behind once CRI removed it: the sandbox's processes, mounts,
// state directories and shim socket (as for ctr), plus, in a pod netns that still exists,
// our taps and tc ingress qdiscs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { leftovers, type Leftovers } from '../e2e/leftovers.js';

export interface PodLeftovers extends Leftovers {
  /** `tapN_kata` devices and ingress qdiscs still in the pod's netns (when it still exists). */
  network: string[];
}

export const NOTHING_LEFT_OF_POD: PodLeftovers = { qemu: [], virtiofsd: [], shims: [], mounts: [], paths: [], network: [] };

/** Our taps and the ingress qdiscs (with their mirred filters) in a network namespace. */
export function kataNetworkIn(netnsPath: string): string[] {
  if (!existsSync(netnsPath)) return [];
  const inNs = (args: string[]): string => {
    try {
      return execFileSync('nsenter', [`--net=${netnsPath}`, '--', ...args], { encoding: 'utf8' });
    } catch {
      return ''; // the netns went away while we looked
    }
  };
  const taps = inNs(['ip', '-o', 'link', 'show']).split('\n').filter((l) => /^\d+: tap\d+_kata[:@]/.test(l));
  const qdiscs = inNs(['tc', 'qdisc', 'show']).split('\n').filter((l) => l.includes('ingress'));
  return [...taps.map((l) => `link ${l.split(':')[1]!.trim()}`), ...qdiscs.map((l) => l.trim())];
}

export function podLeftovers(podId: string, containerdAddress: string, netnsPath?: string): PodLeftovers {
  return { ...leftovers(podId, containerdAddress, 'k8s.io'), network: netnsPath ? kataNetworkIn(netnsPath) : [] };
}
