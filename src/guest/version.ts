// Reported by Health.Version and GetGuestDetails. Kata's own agent reports its release
// and grpc_version 0.0.1; the runtime only logs them.
export const AGENT_VERSION = '0.1.0-ts';
export const GRPC_VERSION = '0.0.1';
