// virtio-serial: QEMU's `-chardev socket,server=on,wait=off` listens on a unix socket
// and relays it to the guest port agent.channel.0. QEMU serves one client at a time and
// only accepts the next after the current one closes, so the shim keeps exactly one
// long-lived connection per sandbox (ttrpc multiplexes every RPC over it) and never
// probes the socket with a throwaway connection.
import type { Duplex } from 'node:stream';
import type { DialOptions } from './dial-options.js';
import { connectUnix } from './unix.js';

export function connectSerial(chardevSocketPath: string, opts: DialOptions = {}): Promise<Duplex> {
  return connectUnix(chardevSocketPath, opts, `virtio-serial chardev ${chardevSocketPath}`);
}
