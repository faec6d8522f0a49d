// The protobuf wire format, as much of it as `start` and `delete` need to read and write
// their few small messages by hand: the generated protobuf code is the daemon's alone,
// and loading it would cost every container's start and delete (docs/performance.md).
// Reading is as strict as Go's decoder, containerd's: an input Go would reject is
// rejected here too, with the byte offset of the problem.

/** A field as it is on the wire; fixed-size values are kept as their raw bytes. */
export type WireField =
  | { readonly field: number; readonly type: 'varint'; readonly value: bigint }
  | { readonly field: number; readonly type: 'bytes'; readonly value: Uint8Array }
  | { readonly field: number; readonly type: 'fixed64' | 'fixed32'; readonly value: Uint8Array };

/** Why bytes are not a protobuf message, and which fields were read or begun before the problem. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly fieldNumbersSeen: readonly number[],
  ) {
    super(message);
  }
}

const MAX_FIELD_NUMBER = 2 ** 29 - 1;

/** Every field of one message, in wire order; throws a WireError on malformed input. */
export function readFields(buf: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let pos = 0;
  let current: number | undefined; // the field whose tag was read last
  const fail = (msg: string): never => {
    throw new WireError(msg, [...fields.map((f) => f.field), ...(current === undefined ? [] : [current])]);
  };
  const readVarint = (): bigint => {
    const start = pos;
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= buf.length) return fail(`truncated varint at byte ${start}`);
      if (pos - start >= 10) return fail(`varint longer than 10 bytes at byte ${start}`);
      const b = buf[pos++]!;
      // The 10th byte holds bit 63 alone: anything more overflows 64 bits (Go's errCodeOverflow).
      if (pos - start === 10 && b > 1) return fail(`varint overflows 64 bits at byte ${start}`);
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, value);
    }
  };
  // A length is a 64-bit varint: compared as a bigint, so one past 2^53 cannot pass as smaller.
  const take = (n: number | bigint, field: number, what: string, at: number): Uint8Array => {
    if (n > buf.length - pos) fail(`field ${field}: ${what} at byte ${at} runs past the end (${buf.length - pos} bytes left)`);
    return buf.subarray(pos, (pos += Number(n)));
  };
  while (pos < buf.length) {
    const at = pos;
    const tag = readVarint();
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (field < 1 || field > MAX_FIELD_NUMBER) fail(`invalid field number ${field} at byte ${at}`);
    // Behind an invalid wire type, the field number means nothing either.
    current = wireType === 6 || wireType === 7 ? undefined : field;
    switch (wireType) {
      case 0:
        fields.push({ field, type: 'varint', value: readVarint() });
        break;
      case 1:
        fields.push({ field, type: 'fixed64', value: take(8, field, 'fixed64', at) });
        break;
      case 2: {
        const len = readVarint();
        fields.push({ field, type: 'bytes', value: take(len, field, `length ${len}`, at) });
        break;
      }
      case 5:
        fields.push({ field, type: 'fixed32', value: take(4, field, 'fixed32', at) });
        break;
      case 3:
      case 4:
        // Valid in Go, but no message read here has groups.
        fail(`field ${field}: group (wire type ${wireType}) at byte ${at} is not supported`);
        break;
      default:
        fail(`invalid wire type ${wireType} at byte ${at}`);
    }
  }
  return fields;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A proto3 `string`: Go refuses invalid UTF-8, and so do we. */
export function wireString(f: WireField & { type: 'bytes' }): string {
  try {
    return utf8.decode(f.value);
  } catch {
    throw new WireError(`field ${f.field} is not valid UTF-8`, []);
  }
}

/** A protobuf varint; negative values as 64-bit two's complement, as int32/int64 have them. */
export function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  for (; v >= 0x80n; v >>= 7n) bytes.push(Number(v & 0x7fn) | 0x80);
  bytes.push(Number(v));
  return bytes;
}

const tag = (field: number, wireType: 0 | 2): number[] => varint((field << 3) | wireType);

/** Field `n` as a varint, left out when 0 (proto3). */
export const varintField = (n: number, value: number | bigint): number[] => (BigInt(value) === 0n ? [] : [...tag(n, 0), ...varint(value)]);

/** Field `n` length-delimited, always written (an embedded message may be empty and still present). */
export const bytesField = (n: number, bytes: ArrayLike<number>): number[] => [...tag(n, 2), ...varint(bytes.length), ...Array.from(bytes)];

/** Field `n` as a proto3 string, left out when empty. */
export const stringField = (n: number, s: string): number[] => (s === '' ? [] : bytesField(n, Buffer.from(s, 'utf8')));
