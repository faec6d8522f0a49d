// Encodes whole frames (header + ttrpc.Request/Response envelope + inner message) in one
// pass through a reused protobuf writer: the inner message is written in place as the
// envelope's bytes field, so a call costs one buffer allocation and no intermediate copies.
import protobuf from 'protobufjs/minimal.js';
import type { Writer } from 'protobufjs';
import { google, ttrpc } from '../gen/proto.js';
import { HEADER_LENGTH, MAX_MESSAGE, MessageType, writeHeader } from './frame.js';
import { Code, RuntimeError } from '../errors/index.js';
import { statusOf } from './status.js';
import type { MessageClass } from './service.js';

/** Keeps the shared writer from pinning a multi-megabyte buffer after one big message. */
const SPARE_LIMIT = 64 * 1024;
const PLACEHOLDER = new Uint8Array(HEADER_LENGTH);

let spare: Writer | undefined;

function acquire(): Writer {
  const w = spare ?? protobuf.Writer.create();
  spare = undefined;
  w.pos = 0;
  w.states = null;
  w.raw(PLACEHOLDER);
  return w;
}

function release(w: Writer): void {
  if (w.buf.length <= SPARE_LIMIT) spare = w;
}

export function oversizedError(length: number): RuntimeError {
  return new RuntimeError(
    Code.RESOURCE_EXHAUSTED,
    `message length ${length} exceed maximum message size of ${MAX_MESSAGE}`,
  );
}

function seal(w: Writer, streamId: number, type: number, flags: number): Uint8Array {
  const length = w.pos - HEADER_LENGTH;
  if (length > MAX_MESSAGE) throw oversizedError(length);
  const buf = w.finish();
  writeHeader(buf, 0, { length, streamId, type, flags });
  return buf;
}

/** Writes `value` as length-delimited field `tag`; omitted when it encodes to nothing, as Go does. */
function embed(w: Writer, tag: number, type: MessageClass, value: unknown): void {
  const start = w.pos;
  w.uint32(tag).fork();
  type.encode(value, w);
  if (w.pos === w.states![w.states!.length - 1]! + 1) {
    w.states!.pop();
    w.pos = start;
  } else {
    w.ldelim();
  }
}

export interface RequestFields {
  service: string;
  method: string;
  timeoutNano: number;
  metadata: readonly ttrpc.KeyValue.$Properties[];
}

export function requestFrame(
  streamId: number,
  flags: number,
  fields: RequestFields,
  type: MessageClass | undefined,
  value: unknown,
): Uint8Array {
  const w = acquire();
  try {
    if (fields.service !== '') w.uint32(10).string(fields.service);
    if (fields.method !== '') w.uint32(18).string(fields.method);
    if (type !== undefined) embed(w, 26, type, value);
    if (fields.timeoutNano !== 0) w.uint32(32).int64(fields.timeoutNano);
    for (const kv of fields.metadata) ttrpc.KeyValue.encode(kv, w.uint32(42).fork()).ldelim();
    return seal(w, streamId, MessageType.Request, flags);
  } finally {
    release(w);
  }
}

const OK_STATUS: google.rpc.Status.$Properties = {};

/** A Response frame; success carries an empty status message, as Go servers send. */
export function responseFrame(
  streamId: number,
  status: google.rpc.Status.$Properties | undefined,
  type?: MessageClass,
  value?: unknown,
): Uint8Array {
  const w = acquire();
  try {
    google.rpc.Status.encode(status ?? OK_STATUS, w.uint32(10).fork()).ldelim();
    if (type !== undefined) embed(w, 18, type, value);
    return seal(w, streamId, MessageType.Response, 0);
  } finally {
    release(w);
  }
}

/** Error texts can echo peer input (a 4 MiB service name); an answer must never be oversized. */
const MAX_ERROR_MESSAGE = 16 * 1024;

function clip(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE) return message;
  let cut = MAX_ERROR_MESSAGE;
  const last = message.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--; // never split a surrogate pair into invalid UTF-8
  return `${message.slice(0, cut)}...`;
}

/** The Response frame answering a stream with an error: the RPC edge's mapping onto the wire. */
export function errorFrame(streamId: number, err: unknown): Uint8Array {
  const status = statusOf(err);
  return responseFrame(streamId, { code: status.code, message: clip(status.message) });
}

/** A Data frame; without a type it is an empty frame (callers add NO_DATA). */
export function dataFrame(streamId: number, flags: number, type?: MessageClass, value?: unknown): Uint8Array {
  const w = acquire();
  try {
    if (type !== undefined) type.encode(value, w);
    return seal(w, streamId, MessageType.Data, flags);
  } finally {
    release(w);
  }
}
