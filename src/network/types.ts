// What the pod's network namespace holds and what we mirrored into the VM. Plain data:
// a PodNetwork is persisted with the sandbox state so crash cleanup can tear it down.

export type IpFamily = 'ipv4' | 'ipv6';

export interface IpAddress {
  family: IpFamily;
  address: string;
  prefixLength: number;
}

export interface NetInterface {
  index: number;
  name: string;
  /** The link kind from linkinfo.info_kind, e.g. 'veth'; '' for a physical link. */
  kind: string;
  mac: string;
  mtu: number;
  addresses: IpAddress[];
  /** As `ip` names them: 'UP', 'LOWER_UP', 'BROADCAST', 'NOARP', ... */
  flags: string[];
}

export interface NetRoute {
  family: IpFamily;
  /** '' for the default route, else a CIDR (host routes get /32 or /128). */
  dest: string;
  gateway: string;
  device: string;
  source: string;
  /** RT_SCOPE_* number (see RT_SCOPE). */
  scope: number;
  /** RTNH_F_* bits the guest must set too; in practice RTNH_F_ONLINK for gateways outside the subnet. */
  flags: number;
}

export interface NetNeighbor {
  family: IpFamily;
  address: string;
  device: string;
  mac: string;
  /** NUD_* bitmask (see NUD). */
  state: number;
  /** NTF_* bitmask (see NTF). */
  flags: number;
}

export interface Endpoint {
  iface: NetInterface;
  /** The tap device in the pod netns that QEMU attaches to by name, e.g. tap0_kata. */
  tap: string;
}

export interface PodNetwork {
  netnsPath: string;
  endpoints: Endpoint[];
  routes: NetRoute[];
  neighbors: NetNeighbor[];
}

/** Route scopes (linux/rtnetlink.h), as the agent API carries them. */
export const RT_SCOPE = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;

/** Route next-hop flags (linux/rtnetlink.h) that describe how to reach the gateway. */
export const RTNH_F = { pervasive: 2, onlink: 4 } as const;

/** Neighbour states (linux/neighbour.h). */
export const NUD = {
  INCOMPLETE: 0x01,
  REACHABLE: 0x02,
  STALE: 0x04,
  DELAY: 0x08,
  PROBE: 0x10,
  FAILED: 0x20,
  NOARP: 0x40,
  PERMANENT: 0x80,
} as const;

/** Neighbour flags (linux/neighbour.h) that `ip -j neigh` prints as keys. */
export const NTF = { proxy: 0x08, extern_learn: 0x10, offload: 0x20, router: 0x80 } as const;
