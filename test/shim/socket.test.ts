// The shim socket as `start` binds it for the daemon: listening at its path with mode 0600,
// surviving the close of start's own copy, never taking a live shim's path.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LISTEN_FD_ENV, bindShimSocket, listenShimSocket, listenerFd, probeSocket } from '../../src/shim/socket.js';

const TMP = mkdtempSync('/tmp/shim-sock-');
let seq = 0;
const socketPath = (): string => join(TMP, 'run', `${'0'.repeat(60)}${String(++seq).padStart(4, '0')}`);
const close = (server: net.Server): Promise<void> => new Promise((r) => server.close(() => r()));

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('bindShimSocket', () => {
  it('listens at the path, 0600 in a 0711 directory, leaving no other name behind', async () => {
    const path = socketPath();
    const server = await bindShimSocket(path);
    try {
      expect(await probeSocket(path)).toBe('live');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(TMP, 'run')).mode & 0o777).toBe(0o711);
      expect(readdirSync(join(TMP, 'run'))).toEqual([path.split('/').pop()]);
      expect(listenerFd(server)).toBeGreaterThan(2);
    } finally {
      await close(server);
    }
  });

  it('keeps the path when its server is closed: start closes its copy, the daemon serves on', async () => {
    const path = socketPath();
    await close(await bindShimSocket(path));
    expect(existsSync(path)).toBe(true);
    expect(await probeSocket(path)).toBe('stale');
  });

  it('replaces a stale socket and refuses a path a live shim listens on', async () => {
    const stale = socketPath();
    await close(await bindShimSocket(stale));
    const server = await bindShimSocket(stale);
    expect(await probeSocket(stale)).toBe('live');
    await expect(bindShimSocket(stale)).rejects.toThrow(`another shim already listens on ${stale}`);
    expect(await probeSocket(stale)).toBe('live');
    await close(server);
  });
});

describe('listenShimSocket', () => {
  it('binds the path itself when no socket was handed over (a daemon run by hand)', async () => {
    const path = socketPath();
    const server = await listenShimSocket(path);
    expect(await probeSocket(path)).toBe('live');
    await close(server);
  });

  it('adopts the fd named in the environment and removes the name, as the daemon does', async () => {
    const path = socketPath();
    const bound = await bindShimSocket(path);
    // A child gets the socket as fd 3 and its number in the environment, like the daemon.
    const script = `import('${new URL('../../src/shim/socket.ts', import.meta.url).href}').then(async (m) => {
      const server = await m.listenShimSocket('/nonexistent/never-bound');
      server.on('connection', (c) => c.end('adopted, ' + process.env.${LISTEN_FD_ENV}));
    })`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      env: { ...process.env, [LISTEN_FD_ENV]: '3' },
      stdio: ['ignore', 'ignore', 'inherit', listenerFd(bound)],
    });
    bound.close();
    try {
      // Connecting works at once (the backlog holds it); the answer comes once the child serves.
      const answer = await new Promise<string>((resolve, reject) => {
        let text = '';
        net.createConnection({ path }).on('data', (d) => (text += String(d))).on('end', () => resolve(text)).on('error', reject);
      });
      expect(answer).toBe('adopted, undefined');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a variable that names no inherited fd', async () => {
    process.env[LISTEN_FD_ENV] = 'x';
    await expect(listenShimSocket(socketPath())).rejects.toThrow(`${LISTEN_FD_ENV}=x does not name an inherited socket`);
    expect(process.env[LISTEN_FD_ENV]).toBeUndefined();
  });
});
