// AF_VSOCK connections through the native binding: the host dials the agent at
// (cid, 1024); the guest agent listens on port 1024 with VMADDR_CID_ANY.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../../errors/index.js';
import { guardDial, type DialOptions } from './dial-options.js';
import { FdStream } from './fd-stream.js';
import { READABLE, WRITABLE, loadVsockBinding, type VsockBinding } from './native-vsock.js';
import { Poll, pollError } from './poll.js';

const U32_MAX = 0xffff_ffff;

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw invalidArgument(`vsock: ${name} ${v} is not a 32-bit unsigned integer`);
}

/** Wraps an fd in a Poll, closing the fd itself if that fails (the Poll did not take it). */
function adopt(binding: VsockBinding, fd: number): Poll {
  try {
    return new Poll(binding, fd);
  } catch (err) {
    binding.close(fd);
    throw err;
  }
}

// async: argument and socket() errors become rejections like every other failure.
export async function connectVsock(cid: number, port: number, opts: DialOptions = {}): Promise<Duplex> {
  checkU32('cid', cid);
  checkU32('port', port);
  const binding = loadVsockBinding();
  const description = `vsock cid ${cid} port ${port}`;
  const fd = binding.socket();
  const poll = adopt(binding, fd);
  return guardDial<Duplex>(
    `${description}: connect`,
    opts,
    (settle) => {
      const connected = (): void => settle(undefined, new FdStream(binding, poll, { description }));
      poll.onEvent = (status) => {
        try {
          binding.finishConnect(fd, cid, port); // throws the connect's own errno (SO_ERROR)
        } catch (err) {
          return settle(err as Error);
        }
        if (status < 0) settle(pollError(binding, fd, status, `connect to cid ${cid} port ${port}`));
        else connected();
      };
      try {
        if (binding.connect(fd, cid, port)) connected();
        else poll.want(WRITABLE); // in progress: the kernel reports the outcome as writability
      } catch (err) {
        settle(err as Error);
      }
    },
    () => void poll.close(),
  );
}

export interface VsockListenOptions {
  /** Local CID to bind; default VMADDR_CID_ANY. */
  cid?: number;
  backlog?: number;
}

/**
 * A listening vsock socket. Emits 'error' for accept failures (like net.Server, an
 * unhandled one is fatal). close() stops accepting; accepted streams stay open.
 */
export class VsockServer extends EventEmitter {
  readonly port: number;
  #binding: VsockBinding;
  #poll: Poll;

  /** @internal use listenVsock */
  constructor(binding: VsockBinding, poll: Poll, onConnection: (stream: Duplex) => void) {
    super();
    this.#binding = binding;
    this.#poll = poll;
    this.port = binding.address(poll.fd, false).port;
    poll.onEvent = (status) => {
      if (status < 0) this.emit('error', pollError(this.#binding, this.#poll.fd, status, `accept on port ${this.port}`));
      else this.#acceptAll(onConnection);
    };
    poll.want(READABLE);
  }

  #acceptAll(onConnection: (stream: Duplex) => void): void {
    for (;;) {
      let fd: number;
      let poll: Poll;
      try {
        fd = this.#binding.accept(this.#poll.fd);
        if (fd < 0) return;
        poll = adopt(this.#binding, fd);
      } catch (err) {
        this.emit('error', err);
        return;
      }
      onConnection(new FdStream(this.#binding, poll, { description: this.#peer(fd) }));
    }
  }

  #peer(fd: number): string {
    try {
      const peer = this.#binding.address(fd, true);
      return `vsock cid ${peer.cid} port ${peer.port}`;
    } catch {
      return `vsock fd ${fd} (peer already gone)`; // the stream reports the reset on first read
    }
  }

  close(): Promise<void> {
    return this.#poll.close();
  }
}

export async function listenVsock(
  port: number,
  onConnection: (stream: Duplex) => void,
  opts: VsockListenOptions = {},
): Promise<VsockServer> {
  checkU32('port', port);
  const binding = loadVsockBinding();
  const fd = binding.socket();
  try {
    binding.listen(fd, opts.cid ?? binding.VMADDR_CID_ANY, port, opts.backlog ?? 128);
  } catch (err) {
    binding.close(fd);
    throw err;
  }
  const poll = adopt(binding, fd);
  try {
    return new VsockServer(binding, poll, onConnection);
  } catch (err) {
    await poll.close();
    throw err;
  }
}
