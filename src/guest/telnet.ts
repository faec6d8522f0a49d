// The small part of telnet (RFC 854, NAWS RFC 1073) needed to talk to busybox
// `telnetd -i`, which is how the agent gets a pseudo-terminal without native code
// (see tty-session.ts). Pure: byte codecs only.

export const IAC = 255;
const SE = 240;
const SB = 250;
const WILL = 251;
const DONT = 254;
const NAWS = 31;
const CR = 13;
const NUL = 0;

/**
 * Host bytes → telnet data: IAC is doubled, and CR is sent as CR NUL because
 * telnetd turns CR LF and CR NUL into a lone CR (RFC 854 end-of-line rules).
 */
export function encodeInput(data: Uint8Array): Buffer {
  let extra = 0;
  for (const b of data) if (b === IAC || b === CR) extra++;
  if (extra === 0) return Buffer.from(data);
  const out = Buffer.allocUnsafe(data.length + extra);
  let i = 0;
  for (const b of data) {
    out[i++] = b;
    if (b === IAC) out[i++] = IAC;
    else if (b === CR) out[i++] = NUL;
  }
  return out;
}

/**
 * IAC SB NAWS <cols16> <rows16> IAC SE. busybox telnetd reads the four size bytes at
 * fixed offsets and does not undo IAC doubling, so they are sent raw.
 */
export function nawsFrame(rows: number, cols: number): Buffer {
  const clamp = (v: number): number => Math.max(0, Math.min(0xffff, Math.trunc(v)));
  const c = clamp(cols);
  const r = clamp(rows);
  return Buffer.from([IAC, SB, NAWS, c >> 8, c & 0xff, r >> 8, r & 0xff, IAC, SE]);
}

type State = 'data' | 'iac' | 'option' | 'sub' | 'subIac';

/** Telnet data → terminal bytes: drops negotiation and subnegotiation, undoubles IAC. */
export class TelnetDecoder {
  #state: State = 'data';

  decode(chunk: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(chunk.length);
    let n = 0;
    for (const b of chunk) {
      switch (this.#state) {
        case 'data':
          if (b === IAC) this.#state = 'iac';
          else out[n++] = b;
          break;
        case 'iac':
          if (b === IAC) {
            out[n++] = IAC;
            this.#state = 'data';
          } else if (b >= WILL && b <= DONT) this.#state = 'option';
          else if (b === SB) this.#state = 'sub';
          else this.#state = 'data'; // two-byte command (NOP, GA, ...)
          break;
        case 'option':
          this.#state = 'data';
          break;
        case 'sub':
          if (b === IAC) this.#state = 'subIac';
          break;
        case 'subIac':
          this.#state = b === SE ? 'data' : 'sub';
          break;
      }
    }
    return out.subarray(0, n);
  }
}

/**
 * Drops everything up to and including the first line that contains `marker`
 * (telnetd's greeting), then passes bytes through unchanged.
 */
export class PreambleStripper {
  #pending = Buffer.alloc(0);
  #done = false;
  readonly #marker: Buffer;

  constructor(marker: string) {
    this.#marker = Buffer.from(marker);
  }

  get done(): boolean {
    return this.#done;
  }

  strip(chunk: Buffer): Buffer {
    if (this.#done) return chunk;
    this.#pending = Buffer.concat([this.#pending, chunk]);
    const at = this.#pending.indexOf(this.#marker);
    if (at < 0) {
      // Keep only a tail that could still be the start of the marker.
      this.#pending = this.#pending.subarray(Math.max(0, this.#pending.length - this.#marker.length));
      return Buffer.alloc(0);
    }
    const eol = this.#pending.indexOf(0x0a, at + this.#marker.length);
    if (eol < 0) return Buffer.alloc(0);
    this.#done = true;
    const rest = this.#pending.subarray(eol + 1);
    this.#pending = Buffer.alloc(0);
    return rest;
  }
}
