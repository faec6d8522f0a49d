// Plain unix-socket connections: the base of hybrid vsock and virtio-serial, and the
// transport itself in test mode (guest agent running on the host).
import { connect, type Socket } from 'node:net';
import { guardDial, type DialOptions } from './dial-options.js';

/** `what` names the attempt in errors, e.g. "hybrid vsock /run/x.sock port 1024". */
export function connectUnix(path: string, opts: DialOptions = {}, what = `unix ${path}`): Promise<Socket> {
  let socket: Socket | undefined;
  return guardDial<Socket>(
    `${what}: connect`,
    opts,
    (settle) => {
      const s = connect({ path });
      socket = s;
      const onError = (err: Error): void => settle(err);
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        settle(undefined, s);
      });
    },
    () => socket?.destroy(),
  );
}
