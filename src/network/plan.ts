// Which pod interfaces are mirrored into the VM, and the ip/tc commands that do it and
// undo it (Kata's tcfilter model). Pure: pod-network.ts runs the argv lists in the netns.
import { failedPrecondition } from '../errors/index.js';
import type { Endpoint, NetInterface } from './types.js';

/** Kinds that carry the pod's Ethernet frames and so can be mirrored; '' is a physical link. */
const MIRRORABLE_KINDS: readonly string[] = ['veth', 'macvlan', 'ipvlan', ''];

/** Kata's tap names: tap<N>_kata for the N-th mirrored interface. */
export const tapName = (n: number): string => `tap${n}_kata`;

/**
 * An interface the pod uses: CNI leaves it up with its IP. Links that are down and have
 * no address (tunl0, sit0 and other base devices of a fresh netns) are not the pod's.
 */
export function isPodInterface(i: NetInterface): boolean {
  if (i.name === 'lo' || i.flags.includes('LOOPBACK')) return false;
  return i.flags.includes('UP') || i.addresses.length > 0;
}

/** The endpoints to create, in ifindex order; refuses the whole pod if one interface cannot be mirrored. */
export function chooseEndpoints(netnsPath: string, links: readonly NetInterface[]): Endpoint[] {
  const pod = links.filter(isPodInterface).sort((a, b) => a.index - b.index);
  const refused = pod.find((i) => !MIRRORABLE_KINDS.includes(i.kind));
  if (refused) {
    throw failedPrecondition(
      `pod network ${netnsPath}: interface ${refused.name} of type ${refused.kind} cannot be mirrored into the VM ` +
        '(supported: veth, macvlan, ipvlan, physical)',
    );
  }
  const endpoints = pod.map((iface, n) => ({ iface, tap: tapName(n) }));
  // Deleting a device we did not create would break someone else's pod: refuse instead.
  const taken = endpoints.find((e) => links.some((l) => l.name === e.tap));
  if (taken) {
    throw failedPrecondition(`pod network ${netnsPath}: a device named ${taken.tap} already exists (left over from an earlier sandbox?)`);
  }
  return endpoints;
}

export interface SetupStep {
  /** The pod interface this step mirrors, for messages. */
  readonly iface: string;
  readonly argv: readonly string[];
  /** What reverses it if a later step fails; absent when another step's undo covers it. */
  readonly undo?: readonly string[];
}

/**
 * Per endpoint: the tap (MTU of the pod interface, up), its redirect to the pod interface,
 * then the pod interface's redirect to the tap. The pod interface is redirected last so its
 * traffic is only diverted once the way back exists. The pod interface itself is not changed.
 */
export function setupPlan(endpoints: readonly Endpoint[]): SetupStep[] {
  return endpoints.flatMap(({ iface, tap }) => {
    const step = (argv: string[], undo?: string[]): SetupStep => ({ iface: iface.name, argv, ...(undo ? { undo } : {}) });
    return [
      // Persistent, single queue, no vnet_hdr: QEMU sets the header mode itself when it attaches.
      step(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'], deleteLink(tap)),
      step(['ip', 'link', 'set', 'dev', tap, 'mtu', String(iface.mtu), 'up']),
      step(addIngress(tap)), // goes with the tap
      step(redirect(tap, iface.name)),
      step(addIngress(iface.name), deleteIngress(iface.name)),
      step(redirect(iface.name, tap)), // goes with the ingress qdisc
    ];
  });
}

/** The undo commands of the first `done` steps, newest first. */
export function rollbackPlan(steps: readonly SetupStep[], done: number): string[][] {
  return steps
    .slice(0, done)
    .flatMap((s) => (s.undo ? [[...s.undo]] : []))
    .reverse();
}

/** Removing the ingress qdisc removes its filter; deleting the tap removes the rest. */
export function teardownPlan(endpoints: readonly Endpoint[]): string[][] {
  return endpoints.flatMap(({ iface, tap }) => [deleteIngress(iface.name), deleteLink(tap)]);
}

const addIngress = (dev: string): string[] => ['tc', 'qdisc', 'add', 'dev', dev, 'handle', 'ffff:', 'ingress'];
const deleteIngress = (dev: string): string[] => ['tc', 'qdisc', 'del', 'dev', dev, 'handle', 'ffff:', 'ingress'];
const deleteLink = (dev: string): string[] => ['ip', 'link', 'del', 'dev', dev];

/** Every frame arriving on `from` leaves through `to` (match u8 0 0 matches everything). */
const redirect = (from: string, to: string): string[] => [
  'tc', 'filter', 'add', 'dev', from, 'parent', 'ffff:', 'protocol', 'all',
  'u32', 'match', 'u8', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', to,
];
