// Hybrid vsock against a fake VMM socket implementing Firecracker's CONNECT handshake.
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectHybridVsock } from '../../../src/agent/transport/hybrid-vsock.js';
import { Code, RuntimeError } from '../../../src/errors/index.js';
import { waitUntil } from '../../support/wait.js';
import { closeServer, listenUnix, readAll, readBytes, tempDir } from './fixtures.js';

type Reply = (conn: Socket, request: string) => void;

let dir: ReturnType<typeof tempDir>;
let cleanup: (() => Promise<void>)[];

beforeEach(() => {
  dir = tempDir();
  cleanup = [];
});
afterEach(async () => {
  await Promise.all(cleanup.map((f) => f()));
  dir.remove();
});

/** A VMM socket: reads the request line, answers with `reply`. Returns the requests seen. */
async function fakeVmm(reply: Reply): Promise<{ path: string; requests: string[] }> {
  const path = dir.path('vmm.sock');
  const requests: string[] = [];
  const conns: Socket[] = [];
  const server = await listenUnix(path, (conn) => {
    conns.push(conn);
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      conn.off('data', onData);
      requests.push(buf.slice(0, nl + 1));
      const rest = buf.slice(nl + 1);
      reply(conn, buf.slice(0, nl + 1));
      if (rest) conn.unshift(Buffer.from(rest, 'latin1'));
    };
    conn.on('data', onData);
    conn.on('error', () => {});
  });
  cleanup.push(async () => {
    for (const c of conns) c.destroy();
    await closeServer(server);
  });
  return { path, requests };
}

describe('connectHybridVsock', () => {
  it('sends CONNECT <port>, accepts an OK line and keeps bytes sent right after it', async () => {
    const vmm = await fakeVmm((conn) => {
      // The reply and the first payload bytes in one write, so they share a chunk.
      conn.write(Buffer.from('OK 1073741824\nearly-bytes'));
      conn.pipe(conn); // then echo
    });
    const stream = await connectHybridVsock(vmm.path, 1024);
    expect(vmm.requests).toEqual(['CONNECT 1024\n']);
    expect((await readBytes(stream, 11)).toString()).toBe('early-bytes');
    stream.write('ping');
    expect((await readBytes(stream, 4)).toString()).toBe('ping');
    stream.end();
    expect((await readAll(stream)).length).toBe(0);
  });

  it('delivers post-OK bytes to a consumer that attaches later through pipe/async iteration', async () => {
    const vmm = await fakeVmm((conn) => conn.end('OK\nall-of-it'));
    const stream = await connectHybridVsock(vmm.path, 2000);
    // Nobody consumes yet: the bytes after the OK line arrive and sit in the stream's buffer.
    await waitUntil(() => stream.readableLength >= 'all-of-it'.length, { what: 'the post-OK bytes to be buffered in the stream' });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('all-of-it');
    expect(vmm.requests).toEqual(['CONNECT 2000\n']);
  });

  it('fails with the reply in the message when the VMM refuses', async () => {
    const vmm = await fakeVmm((conn) => conn.write('FAILURE\n'));
    const err = await connectHybridVsock(vmm.path, 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.UNAVAILABLE);
    expect((err as Error).message).toContain('"FAILURE"');
    expect((err as Error).message).toContain(vmm.path);
  });

  it('times out naming the socket and the port when no reply comes', async () => {
    const vmm = await fakeVmm(() => {});
    const started = Date.now();
    const err = await connectHybridVsock(vmm.path, 1024, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((err as RuntimeError).code).toBe(Code.DEADLINE_EXCEEDED);
    expect((err as Error).message).toMatch(new RegExp(`${vmm.path} port 1024: no reply to CONNECT within 200 ms`));
  });

  it('fails clearly when the VMM hangs up before answering', async () => {
    const vmm = await fakeVmm((conn) => conn.end('OK-ish but no newline'));
    const err = await connectHybridVsock(vmm.path, 1024).catch((e: unknown) => e);
    expect((err as RuntimeError).code).toBe(Code.UNAVAILABLE);
    expect((err as Error).message).toContain('closed before the CONNECT reply (got "OK-ish but no newline")');
  });

  it('passes through the connect error when nothing listens', async () => {
    const err = await connectHybridVsock(dir.path('absent.sock'), 1024).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});
