// Agent URL parsing/formatting (Kata's vsock:// and hvsock://, our serial:// and unix://)
// and dialAgent choosing the transport.
import { describe, expect, it } from 'vitest';
import { dialAgent, formatAgentUrl, parseAgentUrl, type AgentUrl } from '../../../src/agent/transport/url.js';
import { Code, RuntimeError } from '../../../src/errors/index.js';
import { closeServer, listenUnix, readBytes, tempDir } from './fixtures.js';

const valid: [string, AgentUrl][] = [
  ['vsock://3:1024', { scheme: 'vsock', cid: 3, port: 1024 }],
  ['vsock://4294967294:1', { scheme: 'vsock', cid: 4294967294, port: 1 }],
  ['vsock://-1:1024', { scheme: 'vsock', cid: 0xffff_ffff, port: 1024 }],
  ['hvsock:///run/vc/vm/abc/clh.sock:1024', { scheme: 'hvsock', path: '/run/vc/vm/abc/clh.sock', port: 1024 }],
  ['serial:///run/vc/vm/abc/agent.chardev', { scheme: 'serial', path: '/run/vc/vm/abc/agent.chardev' }],
  ['unix:///tmp/agent.sock', { scheme: 'unix', path: '/tmp/agent.sock' }],
];

const invalid: [string, RegExp][] = [
  ['', /expected <scheme>:\/\/<address>/],
  ['/tmp/agent.sock', /expected <scheme>:\/\/<address>/],
  ['mock:///tmp/x', /unsupported scheme "mock" \(expected vsock, hvsock, serial or unix\)/],
  ['VSOCK://3:1024', /expected <scheme>:\/\/<address>/],
  ['vsock://3', /missing port \(expected vsock:\/\/<cid>:<port>\)/],
  ['vsock://:1024', /invalid cid ""/],
  ['vsock://abc:1024', /invalid cid "abc"/],
  ['vsock://3:', /invalid port ""/],
  ['vsock://3:1024/path', /invalid port "1024\/path"/],
  ['vsock://3:4294967296', /invalid port "4294967296"/],
  ['vsock://-2:1024', /invalid cid "-2"/],
  ['vsock://3:+1', /invalid port "\+1"/],
  ['hvsock:///run/clh.sock', /missing port \(expected hvsock:\/\/<path>:<port>\)/],
  ['hvsock://relative.sock:1024', /socket path must be absolute/],
  ['hvsock://:1024', /socket path must be absolute/],
  ['serial://', /socket path must be absolute/],
  ['unix://tmp/agent.sock', /socket path must be absolute/],
];

describe('parseAgentUrl', () => {
  it.each(valid)('parses %s', (url, expected) => {
    expect(parseAgentUrl(url)).toEqual(expected);
  });

  it.each(valid)('formats %s back to itself', (url, parsed) => {
    expect(formatAgentUrl(parsed)).toBe(url);
  });

  it.each(invalid)('rejects %j', (url, message) => {
    let err: unknown;
    try {
      parseAgentUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe(Code.INVALID_ARGUMENT);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain(`agent url ${JSON.stringify(url)}`);
  });
});

describe('dialAgent', () => {
  it('dials unix:// and serial:// URLs over the unix socket', async () => {
    const dir = tempDir();
    const path = dir.path('agent.sock');
    const server = await listenUnix(path, (conn) => conn.pipe(conn));
    try {
      for (const url of [`unix://${path}`, `serial://${path}`]) {
        const stream = await dialAgent(url);
        stream.write(url);
        expect((await readBytes(stream, url.length)).toString()).toBe(url);
        stream.destroy();
      }
    } finally {
      await closeServer(server);
      dir.remove();
    }
  });

  it('dials hvsock:// with the CONNECT handshake to the port in the URL', async () => {
    const dir = tempDir();
    const path = dir.path('clh.sock');
    const requests: string[] = [];
    const server = await listenUnix(path, (conn) =>
      conn.once('data', (d: Buffer) => {
        requests.push(d.toString());
        conn.write('OK 99\n');
        conn.pipe(conn);
      }),
    );
    try {
      const stream = await dialAgent(`hvsock://${path}:1024`);
      stream.write('hi');
      expect((await readBytes(stream, 2)).toString()).toBe('hi');
      expect(requests).toEqual(['CONNECT 1024\n']);
      stream.destroy();
    } finally {
      await closeServer(server);
      dir.remove();
    }
  });

  it('rejects (not throws) a malformed URL', async () => {
    const p = dialAgent('bogus');
    await expect(p).rejects.toThrow(/agent url "bogus"/);
  });
});
