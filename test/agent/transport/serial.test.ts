// virtio-serial: the host side is a plain client of QEMU's chardev unix socket.
import { afterAll, describe, expect, it } from 'vitest';
import { connectSerial } from '../../../src/agent/transport/serial.js';
import { Code, RuntimeError } from '../../../src/errors/index.js';
import { closeServer, listenUnix, readBytes, tempDir } from './fixtures.js';

const dir = tempDir();
afterAll(() => dir.remove());

describe('connectSerial', () => {
  it('connects to the chardev socket and carries bytes both ways', async () => {
    const path = dir.path('agent.chardev');
    const server = await listenUnix(path, (conn) => conn.pipe(conn));
    try {
      const stream = await connectSerial(path);
      const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i & 0xff));
      stream.write(payload);
      expect((await readBytes(stream, payload.length)).equals(payload)).toBe(true);
      stream.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it('reports a missing socket (QEMU not started) with the errno and the path', async () => {
    const path = dir.path('missing.chardev');
    const err = (await connectSerial(path).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain(path);
  });

  it('honours an abort signal', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await connectSerial(dir.path('x'), { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.CANCELLED);
  });
});
