// Which of the pod netns's routes and neighbours the guest agent is given
// (UpdateRoutes / AddARPNeighbors). Pure.
import { familyOf, type RouteRow } from './ip-json.js';
import { NUD, type NetNeighbor, type NetRoute } from './types.js';

/**
 * Main-table unicast routes through a mirrored interface, both families. The kernel's
 * connected subnet routes stay (the agent replaces a link's routes); IPv6 link-local and
 * multicast routes go, because the guest kernel makes them itself. Routes without a
 * gateway come first: a gateway must be reachable when its route is added.
 */
export function guestRoutes(rows: readonly RouteRow[], devices: readonly string[]): NetRoute[] {
  const kept = rows.filter(
    (r) =>
      devices.includes(r.device) &&
      r.type === '' &&
      !r.multipath &&
      !(r.family === 'ipv6' && isGuestMadeV6(r.dest)) &&
      // The agent API cannot say "IPv4 via an IPv6 gateway" (RFC 5549).
      (r.gateway === '' || familyOf(r.gateway) === r.family),
  );
  const ordered = [...kept.filter((r) => r.gateway === ''), ...kept.filter((r) => r.gateway !== '')];
  return ordered.map(({ family, dest, gateway, device, source, scope, flags }) => ({ family, dest, gateway, device, source, scope, flags }));
}

const isGuestMadeV6 = (dest: string): boolean => dest.toLowerCase() === 'fe80::/64' || /^ff[0-9a-f]{2}:/i.test(dest);

/** Kata passes static entries only: the guest resolves the rest itself. */
export function guestNeighbors(neighbors: readonly NetNeighbor[], devices: readonly string[]): NetNeighbor[] {
  return neighbors.filter((n) => n.state === NUD.PERMANENT && n.mac !== '' && devices.includes(n.device));
}
