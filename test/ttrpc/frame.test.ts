import { describe, expect, it } from 'vitest';
import {
  FrameReader,
  HEADER_LENGTH,
  MAX_MESSAGE,
  MessageType,
  encodeFrame,
  readHeader,
  writeHeader,
  type Frame,
  type FrameHeader,
} from '../../src/ttrpc/frame.js';

function collect(): { reader: FrameReader; frames: Frame[]; oversized: FrameHeader[] } {
  const frames: Frame[] = [];
  const oversized: FrameHeader[] = [];
  const reader = new FrameReader({ frame: (f) => frames.push(f), oversized: (h) => oversized.push(h) });
  return { reader, frames, oversized };
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('frame header', () => {
  it('is 10 bytes, big-endian, length/stream id/type/flags', () => {
    const f = encodeFrame(0x01020304, MessageType.Data, 0x05, bytes(0xaa, 0xbb));
    expect([...f]).toEqual([0, 0, 0, 2, 1, 2, 3, 4, 3, 5, 0xaa, 0xbb]);
    expect(readHeader(f)).toEqual({ length: 2, streamId: 0x01020304, type: 3, flags: 5 });
  });

  it('round-trips extreme values', () => {
    const buf = new Uint8Array(HEADER_LENGTH + 3);
    const h = { length: 0xffffffff, streamId: 0xfffffffe, type: 0xff, flags: 0x80 };
    writeHeader(buf, 3, h);
    expect(readHeader(buf, 3)).toEqual(h);
  });

  it('refuses a short header', () => {
    expect(() => readHeader(new Uint8Array(9))).toThrow(RangeError);
  });
});

describe('FrameReader', () => {
  const a = encodeFrame(1, MessageType.Request, 0, bytes(1, 2, 3));
  const b = encodeFrame(3, MessageType.Data, 5);
  const c = encodeFrame(5, MessageType.Response, 0, new Uint8Array(300).fill(9));
  const all = Buffer.concat([a, b, c]);

  const summary = (fs: Frame[]) => fs.map((f) => [f.streamId, f.type, f.flags, [...f.payload].length]);
  const expected = [
    [1, 1, 0, 3],
    [3, 3, 5, 0],
    [5, 2, 0, 300],
  ];

  it('decodes several frames from one chunk, payloads as views', () => {
    const { reader, frames } = collect();
    reader.push(all);
    expect(summary(frames)).toEqual(expected);
    expect(frames[0]!.payload.buffer).toBe(all.buffer);
    expect(reader.idle).toBe(true);
  });

  it('decodes the same frames at every split point and byte by byte', () => {
    for (let cut = 1; cut < all.length; cut++) {
      const { reader, frames } = collect();
      reader.push(all.subarray(0, cut));
      reader.push(all.subarray(cut));
      expect(summary(frames)).toEqual(expected);
      expect([...frames[2]!.payload].every((x) => x === 9)).toBe(true);
    }
    const { reader, frames } = collect();
    for (const byte of all) reader.push(bytes(byte));
    expect(summary(frames)).toEqual(expected);
    expect([...frames[0]!.payload]).toEqual([1, 2, 3]);
  });

  it('waits for the rest of a partial frame', () => {
    const { reader, frames } = collect();
    reader.push(all.subarray(0, a.length + 4));
    expect(frames).toHaveLength(1);
    expect(reader.idle).toBe(false);
  });

  it('accepts a frame of exactly MAX_MESSAGE', () => {
    const { reader, frames, oversized } = collect();
    const big = encodeFrame(7, MessageType.Request, 0, new Uint8Array(MAX_MESSAGE));
    reader.push(big.subarray(0, 1000));
    reader.push(big.subarray(1000));
    expect(frames.map((f) => f.payload.length)).toEqual([MAX_MESSAGE]);
    expect(oversized).toEqual([]);
  });

  it('skips an oversized payload without buffering it, reports it once, then goes on', () => {
    const { reader, frames, oversized } = collect();
    const head = new Uint8Array(HEADER_LENGTH);
    writeHeader(head, 0, { length: MAX_MESSAGE + 1, streamId: 9, type: 1, flags: 0 });
    reader.push(head);
    const chunk = new Uint8Array(64 * 1024);
    let left = MAX_MESSAGE + 1;
    while (left > chunk.length) {
      reader.push(chunk);
      left -= chunk.length;
    }
    expect(oversized).toEqual([]);
    reader.push(Buffer.concat([chunk.subarray(0, left), a]));
    expect(oversized).toEqual([{ length: MAX_MESSAGE + 1, streamId: 9, type: 1, flags: 0 }]);
    expect(summary(frames)).toEqual([[1, 1, 0, 3]]);
  });
});
