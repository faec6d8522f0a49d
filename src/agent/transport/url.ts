// Agent addresses in Kata's URL forms, plus our own serial:// and unix://:
//   vsock://<cid>:<port>      AF_VSOCK (cid -1 = VMADDR_CID_ANY, as the agent writes it)
//   hvsock://<path>:<port>    hybrid vsock through a VMM's unix socket
//   serial://<path>           QEMU virtio-serial chardev socket
//   unix://<path>             test mode: the guest agent running on the host
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../../errors/index.js';
import type { DialOptions } from './dial-options.js';
import { connectHybridVsock } from './hybrid-vsock.js';
import { connectSerial } from './serial.js';
import { connectUnix } from './unix.js';
import { connectVsock } from './vsock.js';

export type AgentUrl =
  | { scheme: 'vsock'; cid: number; port: number }
  | { scheme: 'hvsock'; path: string; port: number }
  | { scheme: 'serial'; path: string }
  | { scheme: 'unix'; path: string };

export const AGENT_VSOCK_PORT = 1024;
const CID_ANY = 0xffff_ffff;

function parseU32(url: string, what: string, text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffff_ffff) {
    throw invalidArgument(`agent url ${JSON.stringify(url)}: invalid ${what} ${JSON.stringify(text)} (expected 0..4294967295)`);
  }
  return Number(text);
}

function parsePath(url: string, path: string): string {
  if (!path.startsWith('/')) throw invalidArgument(`agent url ${JSON.stringify(url)}: socket path must be absolute`);
  if (path.includes('\0')) throw invalidArgument(`agent url ${JSON.stringify(url)}: socket path contains NUL`);
  return path;
}

/** Splits "<head>:<port>" at the last colon. */
function splitPort(url: string, rest: string, form: string): [string, string] {
  const colon = rest.lastIndexOf(':');
  if (colon < 0) throw invalidArgument(`agent url ${JSON.stringify(url)}: missing port (expected ${form})`);
  return [rest.slice(0, colon), rest.slice(colon + 1)];
}

export function parseAgentUrl(url: string): AgentUrl {
  const m = /^([a-z]+):\/\/(.*)$/s.exec(url);
  if (m === null) throw invalidArgument(`agent url ${JSON.stringify(url)}: expected <scheme>://<address>`);
  const [, scheme, rest = ''] = m;
  switch (scheme) {
    case 'vsock': {
      const [cid, port] = splitPort(url, rest, 'vsock://<cid>:<port>');
      return {
        scheme,
        cid: cid === '-1' ? CID_ANY : parseU32(url, 'cid', cid),
        port: parseU32(url, 'port', port),
      };
    }
    case 'hvsock': {
      const [path, port] = splitPort(url, rest, 'hvsock://<path>:<port>');
      return { scheme, path: parsePath(url, path), port: parseU32(url, 'port', port) };
    }
    case 'serial':
    case 'unix':
      return { scheme, path: parsePath(url, rest) };
    default:
      throw invalidArgument(
        `agent url ${JSON.stringify(url)}: unsupported scheme ${JSON.stringify(scheme)} (expected vsock, hvsock, serial or unix)`,
      );
  }
}

export function formatAgentUrl(u: AgentUrl): string {
  switch (u.scheme) {
    case 'vsock':
      return `vsock://${u.cid === CID_ANY ? -1 : u.cid}:${u.port}`;
    case 'hvsock':
      return `hvsock://${u.path}:${u.port}`;
    case 'serial':
    case 'unix':
      return `${u.scheme}://${u.path}`;
  }
}

export interface DialAgentOptions extends DialOptions {
  /** Hybrid vsock CONNECT/OK exchange; defaults to 10 s as in Kata. */
  handshakeTimeoutMs?: number;
}

/** One connection attempt to the agent over the transport the URL names (async: a bad URL rejects). */
export async function dialAgent(url: string | AgentUrl, opts: DialAgentOptions = {}): Promise<Duplex> {
  const u = typeof url === 'string' ? parseAgentUrl(url) : url;
  const { signal, timeoutMs } = opts;
  switch (u.scheme) {
    case 'vsock':
      return connectVsock(u.cid, u.port, { signal, timeoutMs });
    case 'hvsock':
      return connectHybridVsock(u.path, u.port, { signal, timeoutMs: opts.handshakeTimeoutMs ?? timeoutMs });
    case 'serial':
      return connectSerial(u.path, { signal, timeoutMs });
    case 'unix':
      return connectUnix(u.path, { signal, timeoutMs });
  }
}
