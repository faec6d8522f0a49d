// ttrpc framing: a 10-byte big-endian header {length u32, stream id u32, type u8, flags u8}
// followed by `length` bytes of protobuf. See protocol-reference §1.1.

export const HEADER_LENGTH = 10;
/** Largest payload either side accepts (Go `messageLengthMax`, 4 << 20). */
export const MAX_MESSAGE = 4 << 20;

export const MessageType = { Request: 1, Response: 2, Data: 3 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const Flags = {
  /** "No more data from me." */
  REMOTE_CLOSED: 0x01,
  /** Request only: the client will stream more data. */
  REMOTE_OPEN: 0x02,
  /** Data only: the frame carries no payload. */
  NO_DATA: 0x04,
} as const;

export interface FrameHeader {
  length: number;
  streamId: number;
  /** Raw type byte: a peer may send values outside MessageType. */
  type: number;
  flags: number;
}

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Uint8Array;
}

export function writeHeader(buf: Uint8Array, offset: number, h: FrameHeader): void {
  const { length, streamId } = h;
  buf[offset] = length >>> 24;
  buf[offset + 1] = length >>> 16;
  buf[offset + 2] = length >>> 8;
  buf[offset + 3] = length;
  buf[offset + 4] = streamId >>> 24;
  buf[offset + 5] = streamId >>> 16;
  buf[offset + 6] = streamId >>> 8;
  buf[offset + 7] = streamId;
  buf[offset + 8] = h.type;
  buf[offset + 9] = h.flags;
}

const u32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

export function readHeader(buf: Uint8Array, offset = 0): FrameHeader {
  if (buf.length - offset < HEADER_LENGTH) throw new RangeError('ttrpc: short frame header');
  return { length: u32(buf, offset), streamId: u32(buf, offset + 4), type: buf[offset + 8]!, flags: buf[offset + 9]! };
}

/** Builds a complete frame (header + payload) in one buffer; tests and raw writers use it. */
export function encodeFrame(streamId: number, type: number, flags: number, payload: Uint8Array = EMPTY): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  writeHeader(buf, 0, { length: payload.length, streamId, type, flags });
  buf.set(payload, HEADER_LENGTH);
  return buf;
}

const EMPTY = new Uint8Array(0);

export interface FrameSink {
  frame(frame: Frame): void;
  /** A frame longer than MAX_MESSAGE whose payload was skipped unbuffered (reported once skipped). */
  oversized(header: FrameHeader): void;
}

/**
 * Incremental decoder for a byte stream cut at arbitrary points. Payloads that lie
 * inside one chunk are views into it (no copy); only frames spanning chunks are copied,
 * once, into a buffer of their exact size.
 */
export class FrameReader {
  private readonly head = new Uint8Array(HEADER_LENGTH);
  private headFill = 0;
  private header: FrameHeader | undefined;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private skip = 0;

  constructor(private readonly sink: FrameSink) {}

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.headFill === 0 && this.header === undefined;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    const end = chunk.length;
    while (off < end) {
      const header = this.header;
      if (header === undefined) {
        if (this.headFill === 0 && end - off >= HEADER_LENGTH) {
          const h = readHeader(chunk, off);
          off += HEADER_LENGTH;
          if (h.length <= end - off && h.length <= MAX_MESSAGE) {
            const payload = chunk.subarray(off, off + h.length);
            off += h.length;
            this.sink.frame({ streamId: h.streamId, type: h.type, flags: h.flags, payload });
            continue;
          }
          this.begin(h);
          continue;
        }
        const n = Math.min(HEADER_LENGTH - this.headFill, end - off);
        this.head.set(chunk.subarray(off, off + n), this.headFill);
        this.headFill += n;
        off += n;
        if (this.headFill === HEADER_LENGTH) {
          this.headFill = 0;
          this.begin(readHeader(this.head));
        }
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - off);
        this.skip -= n;
        off += n;
        if (this.skip === 0) {
          this.header = undefined;
          this.sink.oversized(header);
        }
        continue;
      }
      const body = this.body!;
      const n = Math.min(body.length - this.bodyFill, end - off);
      body.set(chunk.subarray(off, off + n), this.bodyFill);
      this.bodyFill += n;
      off += n;
      if (this.bodyFill === body.length) this.complete(header, body);
    }
  }

  private begin(h: FrameHeader): void {
    if (h.length > MAX_MESSAGE) {
      this.header = h;
      this.skip = h.length;
    } else if (h.length === 0) {
      this.sink.frame({ streamId: h.streamId, type: h.type, flags: h.flags, payload: EMPTY });
    } else {
      this.header = h;
      this.body = new Uint8Array(h.length);
      this.bodyFill = 0;
    }
  }

  private complete(h: FrameHeader, body: Uint8Array): void {
    this.header = undefined;
    this.body = undefined;
    this.sink.frame({ streamId: h.streamId, type: h.type, flags: h.flags, payload: body });
  }
}
