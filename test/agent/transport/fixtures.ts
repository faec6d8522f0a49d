// Shared by the transport tests: temp socket paths, servers, and reading a stream.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';

export function tempDir(): { path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'transport-test-'));
  return { path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function listenUnix(path: string, onConnection: (s: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return server;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Resolves with the first `n` bytes the stream yields (flowing mode via 'data'). */
export function readBytes(stream: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        stream.off('data', onData);
        stream.off('error', reject);
        stream.pause();
        const all = Buffer.concat(chunks);
        if (all.length > n) stream.unshift(all.subarray(n));
        resolve(all.subarray(0, n));
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
    stream.resume(); // an earlier readBytes paused it
  });
}

/** Reads until 'end', leaving the writable side usable (for await would destroy the stream). */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.resume(); // also after an explicit pause()
  });
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Builds native/vsock if stale (a no-op when fresh); throws with node-gyp's output if it fails. */
export function buildVsockAddon(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../../scripts/build-native.mjs', import.meta.url))], { stdio: 'pipe' });
}
