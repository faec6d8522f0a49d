// The AF_VSOCK binding and connectVsock/listenVsock against this host's real kernel.
// What the kernel does depends on the host (vhost_vsock on a KVM host, a virtio-vsock
// guest transport inside a VM, or nothing), so each test accepts the documented
// outcomes and skips, saying why, only what the kernel cannot do at all.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Code, RuntimeError } from '../../../src/errors/index.js';
import { ADDON_PATH_ENV, findVsockAddon, loadVsockBinding, type VsockBinding } from '../../../src/agent/transport/native-vsock.js';
import { connectVsock, listenVsock } from '../../../src/agent/transport/vsock.js';
import { buildVsockAddon, openFds, readBytes } from './fixtures.js';

let binding: VsockBinding;
/** Why AF_VSOCK sockets cannot be created here, or undefined when they can. */
let noVsock: string | undefined;

beforeAll(() => {
  buildVsockAddon();
  binding = loadVsockBinding();
  try {
    binding.close(binding.socket());
  } catch (err) {
    noVsock = (err as Error).message;
  }
});

const settle = <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** Errnos a connect to a CID without a listening VM may end with, depending on the transport. */
const CONNECT_ERRNOS = ['ENODEV', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'];
/** Nothing runs at this CID on any machine we use (CIDs are assigned from low values). */
const UNREACHABLE_CID = 0x7fff_fff0;

function expectCleanConnectError(error: unknown, cid: number, port: number): void {
  if (error instanceof RuntimeError) {
    expect(error.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(error.message).toContain(`vsock cid ${cid} port ${port}`);
    return;
  }
  const e = error as NodeJS.ErrnoException;
  expect(CONNECT_ERRNOS).toContain(e.code);
  expect(e.message).toMatch(new RegExp(`^vsock: connect to cid ${cid} port ${port} failed: .+ \\(.+\\)$`));
  expect(e.errno).toBeLessThan(0);
  expect(e.syscall).toBe('connect');
}

/** Whether vsock loopback (CID 1) can work here; loads vsock_loopback if it is a module. */
function loopbackUnsupported(): string | undefined {
  if (existsSync('/sys/module/vsock_loopback')) return undefined;
  try {
    execFileSync('modinfo', ['vsock_loopback'], { stdio: 'ignore' });
    try {
      execFileSync('modprobe', ['vsock_loopback'], { stdio: 'pipe' });
      return undefined;
    } catch (err) {
      return `modprobe vsock_loopback failed: ${(err as Error).message}`;
    }
  } catch {
    // not available as a module: maybe built in
  }
  if (existsSync('/proc/config.gz')) {
    const config = gunzipSync(readFileSync('/proc/config.gz')).toString();
    if (/^CONFIG_VSOCKETS_LOOPBACK=y$/m.test(config)) return undefined;
    return 'kernel has no vsock loopback: CONFIG_VSOCKETS_LOOPBACK is not built in and no vsock_loopback module exists';
  }
  return undefined; // unknown: try, and let the test fail if it does not work
}

describe('vsock native binding', () => {
  it('loads and exposes the vsock constants', () => {
    expect(typeof binding.socket).toBe('function');
    expect(typeof binding.Watcher).toBe('function');
    expect(binding.VMADDR_CID_ANY).toBe(0xffff_ffff);
    expect(binding.VMADDR_CID_LOCAL).toBe(1);
    expect(binding.VMADDR_CID_HOST).toBe(2);
  });

  it('creates an AF_VSOCK socket, or fails with a clear errno error', () => {
    let fd: number | undefined;
    try {
      fd = binding.socket();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      expect(['EAFNOSUPPORT', 'ENODEV', 'EPROTONOSUPPORT']).toContain(e.code);
      expect(e.message).toMatch(/^vsock: socket\(AF_VSOCK\) failed: .+ \(host has no vsock support: load vhost_vsock \/ vsock modules\)$/);
      expect(e.syscall).toBe('socket');
      return;
    }
    expect(fd).toBeGreaterThan(2);
    binding.close(fd);
  });

  it('rejects bad arguments with TypeErrors instead of truncating them', () => {
    expect(() => binding.connect(0, -1, 1024)).toThrow(/'cid' must be an integer/);
    expect(() => binding.read(0, 'x' as unknown as Buffer)).toThrow(/'buffer' must be a Buffer/);
    expect(() => new binding.Watcher(0, 1 as unknown as () => void)).toThrow(TypeError);
  });

  it('names the missing build and how to make it', async () => {
    expect(findVsockAddon('/')).toBeUndefined();
    vi.resetModules();
    vi.stubEnv(ADDON_PATH_ENV, '/nonexistent/vsock.node');
    const fresh = await import('../../../src/agent/transport/native-vsock.js');
    expect(() => fresh.loadVsockBinding()).toThrow(/vsock: cannot load native binding \/nonexistent\/vsock.node/);
    vi.unstubAllEnvs();
  });
});

describe('connectVsock / listenVsock on this host', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('fails fast and cleanly with our timeout when no VM has the CID', async ({ skip }) => {
    if (noVsock !== undefined) skip(`no AF_VSOCK here: ${noVsock}`);
    const fds = openFds();
    const started = Date.now();
    const r = await settle(connectVsock(UNREACHABLE_CID, 1024, { timeoutMs: 500 }));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(r.ok).toBe(false);
    if (!r.ok) expectCleanConnectError(r.error, UNREACHABLE_CID, 1024);
    await new Promise((res) => setTimeout(res, 20)); // the fd is closed in the handle's close callback
    expect(openFds()).toBe(fds);
  });

  it('surfaces the kernel outcome as an errno error when no timeout is given', async ({ skip }) => {
    if (noVsock !== undefined) skip(`no AF_VSOCK here: ${noVsock}`);
    const fds = openFds();
    // The kernel gives up by itself (vsock's connect timeout is 2 s) or refuses at once.
    const r = await settle(connectVsock(UNREACHABLE_CID, 1024));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).not.toBeInstanceOf(RuntimeError);
      expectCleanConnectError(r.error, UNREACHABLE_CID, 1024);
    }
    await new Promise((res) => setTimeout(res, 20));
    expect(openFds()).toBe(fds);
  });

  it('honours an already aborted signal and leaks no descriptor', async ({ skip }) => {
    if (noVsock !== undefined) skip(`no AF_VSOCK here: ${noVsock}`);
    const fds = openFds();
    const ac = new AbortController();
    ac.abort();
    const r = await settle(connectVsock(UNREACHABLE_CID, 1024, { signal: ac.signal }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect((r.error as RuntimeError).code).toBe(Code.CANCELLED);
    await new Promise((res) => setTimeout(res, 20));
    expect(openFds()).toBe(fds);
  });

  it('listens on a port (as the guest agent does) and reports EADDRINUSE for a second listener', async ({ skip }) => {
    if (noVsock !== undefined) skip(`no AF_VSOCK here: ${noVsock}`);
    const server = await listenVsock(binding.VMADDR_PORT_ANY, () => {});
    expect(server.port).not.toBe(binding.VMADDR_PORT_ANY);
    const second = await settle(listenVsock(server.port, () => {}));
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect((second.error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      expect((second.error as Error).message).toContain(`port ${server.port}`);
    }
    await server.close();
    await server.close(); // idempotent
  });

  it('validates CIDs and ports before touching the kernel', async () => {
    await expect(connectVsock(-1, 1024)).rejects.toThrow(/cid -1 is not a 32-bit unsigned integer/);
    await expect(connectVsock(3, 2 ** 32)).rejects.toThrow(/port 4294967296/);
  });

  it('round-trips bytes over vsock loopback (CID 1) through listen, accept and connect', async ({ skip }) => {
    if (noVsock !== undefined) skip(`no AF_VSOCK here: ${noVsock}`);
    const unsupported = loopbackUnsupported();
    if (unsupported !== undefined) {
      console.warn(`skipping vsock loopback round trip: ${unsupported}`);
      skip(unsupported);
    }
    const server = await listenVsock(binding.VMADDR_PORT_ANY, (conn) => conn.pipe(conn));
    try {
      const client = await connectVsock(binding.VMADDR_CID_LOCAL, server.port, { timeoutMs: 5000 });
      const payload = Buffer.from('hello over vsock loopback');
      client.write(payload);
      expect((await readBytes(client, payload.length)).equals(payload)).toBe(true);
      client.destroy();
    } finally {
      await server.close();
    }
  });
});
