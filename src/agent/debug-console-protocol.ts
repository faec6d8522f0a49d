// The debug console's bytes on its own virtio-serial port (Kata serves it on vsock port
// 1026; there is no vsock here). Pure codecs, shared by the shim and the guest agent.
//
// host → guest: one open line, then the user's raw input. The host ends a session by
//   disconnecting from QEMU's socket (the guest then reads 0 bytes).
// guest → host: the ready line echoing the open line's nonce, then frames: output, and one
//   exit frame when the shell is gone (a virtio-serial port cannot be closed by the guest).
//   Bytes before the ready line are output a previous session left in the port: dropped.
import { invalidArgument } from '../errors/index.js';

/** Name of the port in QEMU (`virtserialport,name=`) and in the guest's sysfs. */
export const DEBUG_CONSOLE_PORT = 'agent.debug_console.0';
/** Kata's kernel parameter that turns the agent's debug console on. */
export const DEBUG_CONSOLE_KERNEL_PARAM = 'agent.debug_console';

const OPEN = 'KATA_DEBUG_CONSOLE_OPEN';
const READY = 'KATA_DEBUG_CONSOLE_READY';
/** An open line longer than this is not one. */
const MAX_OPEN_LINE = 256;
/** Output frames carry at most this much; the guest splits larger chunks. */
export const MAX_FRAME_DATA = 64 * 1024;

export interface ConsoleOpen {
  /** Random per session: tells this session's ready line from anything older. */
  readonly nonce: string;
  /** Initial terminal size; 0 when the client has no terminal. */
  readonly rows: number;
  readonly cols: number;
  /** TERM for the shell. */
  readonly term: string;
}

const NONCE = /^[0-9a-f]{8,64}$/;
/** What a TERM name may be; anything else becomes the default. */
const TERM = /^[A-Za-z0-9._+-]{1,64}$/;
export const DEFAULT_TERM = 'vt100';

export const validTerm = (term: string | undefined): string => (term && TERM.test(term) ? term : DEFAULT_TERM);
/** A terminal size the protocol carries; anything else is 0, "no terminal". */
export const validSize = (n: number): number => (Number.isInteger(n) && n > 0 && n <= 0xffff ? n : 0);

export function encodeOpen(o: ConsoleOpen): Buffer {
  if (!NONCE.test(o.nonce)) throw invalidArgument(`debug console: nonce ${JSON.stringify(o.nonce)} is not 8-64 hex digits`);
  return Buffer.from(`${OPEN} nonce=${o.nonce} rows=${validSize(o.rows)} cols=${validSize(o.cols)} term=${validTerm(o.term)}\n`);
}

/** The open line without its newline. */
export function parseOpen(line: string): ConsoleOpen {
  const [word, ...fields] = line.trim().split(' ');
  if (word !== OPEN) throw invalidArgument(`debug console: expected ${OPEN}, got ${JSON.stringify(line.slice(0, 40))}`);
  const kv = new Map(fields.map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
  const nonce = kv.get('nonce') ?? '';
  if (!NONCE.test(nonce)) throw invalidArgument('debug console: open line without a valid nonce');
  return { nonce, rows: validSize(Number(kv.get('rows'))), cols: validSize(Number(kv.get('cols'))), term: validTerm(kv.get('term')) };
}

export const readyLine = (nonce: string): Buffer => Buffer.from(`${READY} nonce=${nonce}\n`);

export type ConsoleFrame = { readonly type: 'output'; readonly data: Buffer } | { readonly type: 'exit' };

const OUTPUT = 1;
const EXIT = 2;
const HEADER = 5;

/** [type u8][length u32 BE][data]. */
export function encodeFrames(frame: ConsoleFrame): Buffer[] {
  if (frame.type === 'exit') return [Buffer.from([EXIT, 0, 0, 0, 0])];
  const out: Buffer[] = [];
  for (let off = 0; off < frame.data.length; off += MAX_FRAME_DATA) {
    const data = frame.data.subarray(off, off + MAX_FRAME_DATA);
    const header = Buffer.alloc(HEADER);
    header[0] = OUTPUT;
    header.writeUInt32BE(data.length, 1);
    out.push(header, data);
  }
  return out;
}

/**
 * What the host reads: nothing until this session's ready line, then frames. A frame it
 * cannot parse is a protocol error (thrown), never shown to the user as output.
 */
export class ConsoleReplyDecoder {
  #ready = false;
  #pending: Buffer = Buffer.alloc(0);
  readonly #marker: Buffer;

  constructor(nonce: string) {
    this.#marker = readyLine(nonce);
  }

  get ready(): boolean {
    return this.#ready;
  }

  push(chunk: Buffer): ConsoleFrame[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    if (!this.#ready) {
      const at = this.#pending.indexOf(this.#marker);
      if (at < 0) {
        // Keep only a tail that could still be the start of the ready line.
        this.#pending = this.#pending.subarray(Math.max(0, this.#pending.length - this.#marker.length + 1));
        return [];
      }
      this.#ready = true;
      this.#pending = this.#pending.subarray(at + this.#marker.length);
    }
    const frames: ConsoleFrame[] = [];
    while (this.#pending.length >= HEADER) {
      const type = this.#pending[0];
      const length = this.#pending.readUInt32BE(1);
      if ((type !== OUTPUT && type !== EXIT) || length > MAX_FRAME_DATA || (type === EXIT && length !== 0)) {
        throw invalidArgument(`debug console: malformed frame (type ${type}, length ${length})`);
      }
      if (this.#pending.length < HEADER + length) break;
      frames.push(type === EXIT ? { type: 'exit' } : { type: 'output', data: Buffer.from(this.#pending.subarray(HEADER, HEADER + length)) });
      this.#pending = this.#pending.subarray(HEADER + length);
    }
    return frames;
  }
}

const OPEN_MARKER = Buffer.from(OPEN);

/**
 * What the guest reads until a session opens: the first open line that parses, and the input
 * after it. Bytes before it are dropped; a line that starts like one but does not parse is
 * handed to `onBadLine` and skipped. Empty again once it has found one.
 */
export class ConsoleOpenDecoder {
  #pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onBadLine: (err: Error) => void) {}

  push(chunk: Buffer): { readonly open: ConsoleOpen; readonly rest: Buffer } | undefined {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const at = this.#pending.indexOf(OPEN_MARKER);
      if (at < 0) {
        // Keep only a tail that could still be the start of an open line.
        this.#pending = this.#pending.subarray(Math.max(0, this.#pending.length - OPEN_MARKER.length + 1));
        return undefined;
      }
      const eol = this.#pending.indexOf(0x0a, at);
      if (eol < 0) {
        if (this.#pending.length - at > MAX_OPEN_LINE) this.#pending = this.#pending.subarray(at + 1);
        return undefined;
      }
      const line = this.#pending.subarray(at, eol).toString('latin1');
      this.#pending = this.#pending.subarray(eol + 1);
      try {
        const open = parseOpen(line);
        const rest = this.#pending;
        this.#pending = Buffer.alloc(0);
        return { open, rest };
      } catch (err) {
        this.onBadLine(err as Error);
      }
    }
  }
}
