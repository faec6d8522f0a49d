// VsockServer's accept loop, driven by a real native Watcher but with accept() and
// address() stubbed onto socketpairs: hosts without vsock loopback (no way to connect
// to our own listener) still exercise accepting several peers per wake-up.
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { FdStream } from '../../../src/agent/transport/fd-stream.js';
import { loadVsockBinding, type VsockBinding } from '../../../src/agent/transport/native-vsock.js';
import { Poll } from '../../../src/agent/transport/poll.js';
import { VsockServer } from '../../../src/agent/transport/vsock.js';
import { buildVsockAddon, readBytes } from './fixtures.js';

let real: VsockBinding;

beforeAll(() => {
  buildVsockAddon();
  real = loadVsockBinding();
});

describe('VsockServer', () => {
  it('accepts every pending connection per readiness event and wraps each in a stream', async () => {
    // The "listening socket" is one end of a pair; a byte from the other end wakes it.
    const [listenFd, kickFd] = real.socketpair();
    const pending: number[] = [];
    const peers: FdStream[] = [];
    for (let i = 0; i < 3; i++) {
      const [ours, theirs] = real.socketpair();
      pending.push(ours);
      peers.push(new FdStream(real, new Poll(real, theirs), { description: `peer ${i}` }));
    }
    const scratch = Buffer.alloc(16);
    const binding: VsockBinding = {
      ...real,
      accept: () => {
        const fd = pending.shift();
        if (fd !== undefined) return fd;
        real.read(listenFd, scratch); // consume the wake-up, as accept() consumes the backlog
        return -1;
      },
      address: (_fd, peer) => (peer ? { cid: 3, port: 50_000 + pending.length } : { cid: 0xffff_ffff, port: 1024 }),
    };

    const accepted: Duplex[] = [];
    let allAccepted!: () => void;
    const done = new Promise<void>((resolve) => (allAccepted = resolve));
    const server = new VsockServer(binding, new Poll(binding, listenFd), (conn) => {
      accepted.push(conn);
      conn.pipe(conn); // echo
      if (accepted.length === 3) allAccepted();
    });
    expect(server.port).toBe(1024);
    real.write(kickFd, Buffer.from('!'));
    await done;

    expect(accepted.map(String)).toEqual(['vsock cid 3 port 50002', 'vsock cid 3 port 50001', 'vsock cid 3 port 50000']);
    for (const [i, peer] of peers.entries()) {
      peer.write(`hello ${i}`);
      expect((await readBytes(peer, 7)).toString()).toBe(`hello ${i}`);
      peer.destroy();
    }
    await Promise.all(accepted.map((c) => (c.closed ? undefined : once(c, 'close'))));
    await server.close();
    real.close(kickFd);
  });
});
