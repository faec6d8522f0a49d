// Pod networking, host side: the pod netns's interfaces mirrored into the VM through taps.
export type { Endpoint, IpAddress, IpFamily, NetInterface, NetNeighbor, NetRoute, PodNetwork } from './types.js';
export { NTF, NUD, RTNH_F, RT_SCOPE } from './types.js';
export { setupPodNetwork, teardownPodNetwork, type PodNetworkOptions } from './pod-network.js';
