// Frame-level behaviour of the server, driven by a raw socket (what a buggy or hostile peer sends).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ttrpc } from '../../src/gen/proto.js';
import { Flags, MAX_MESSAGE, MessageType } from '../../src/ttrpc/index.js';
import { Code } from '../../src/errors/index.js';
import { encodeFrame } from '../../src/ttrpc/frame.js';
import { waitUntil } from '../support/wait.js';
import { Echo, RawPeer, requestPayload, unaryRequest, useServer } from './helpers.js';

const fx = useServer();
let peer: RawPeer;

beforeEach(async () => {
  peer = await RawPeer.connect(fx.path);
});

afterEach(() => peer.destroy());

const status = (r: ttrpc.Response): [number, string] => [r.status?.code ?? 0, r.status?.message ?? ''];

describe('server protocol rules', () => {
  it('answers a unary request with status {code:0} encoded and the payload', async () => {
    peer.send(1, MessageType.Request, 0, unaryRequest('hi'));
    const [f] = await peer.waitFrames(1);
    expect(f!.type).toBe(MessageType.Response);
    expect(f!.flags).toBe(0);
    // Go servers always encode the status field, even when it is empty.
    expect([...f!.payload.subarray(0, 2)]).toEqual([0x0a, 0x00]);
    const res = await peer.response(1);
    expect(Echo.methods.Unary.responseType.decode(res.payload).text).toBe('hi');
  });

  it('rejects even stream ids', async () => {
    peer.send(2, MessageType.Request, 0, unaryRequest('x'));
    expect(status(await peer.response(2))).toEqual([Code.INVALID_ARGUMENT, 'StreamID must be odd for client initiated streams']);
  });

  it('rejects re-used and decreasing stream ids, and keeps serving', async () => {
    peer.send(5, MessageType.Request, 0, unaryRequest('five'));
    await peer.response(5);
    peer.frames.length = 0;
    peer.send(5, MessageType.Request, 0, unaryRequest('again'));
    expect(status(await peer.response(5))).toEqual([Code.INVALID_ARGUMENT, 'StreamID cannot be re-used and must increment']);
    peer.send(3, MessageType.Request, 0, unaryRequest('lower'));
    expect(status(await peer.response(3))).toEqual([Code.INVALID_ARGUMENT, 'StreamID cannot be re-used and must increment']);
    peer.send(7, MessageType.Request, 0, unaryRequest('seven'));
    expect(status(await peer.response(7))).toEqual([0, '']);
  });

  it('answers Data on an unknown stream with "StreamID is no longer active"', async () => {
    peer.send(9, MessageType.Data, 0, new Uint8Array([10, 1, 65]));
    expect(status(await peer.response(9))).toEqual([Code.INVALID_ARGUMENT, 'StreamID is no longer active']);
  });

  it('answers INVALID_ARGUMENT for an undecodable Request envelope', async () => {
    peer.send(1, MessageType.Request, 0, new Uint8Array([0xff, 0xff, 0xff]));
    const [code, message] = status(await peer.response(1));
    expect(code).toBe(Code.INVALID_ARGUMENT);
    expect(message).toMatch(/^unmarshal request error: /);
  });

  it('answers INTERNAL for an undecodable payload', async () => {
    const payload = requestPayload({ service: Echo.name, method: 'Unary', payload: new Uint8Array([0x0a, 0x05, 1]) });
    peer.send(1, MessageType.Request, 0, payload);
    const [code, message] = status(await peer.response(1));
    expect(code).toBe(Code.INTERNAL);
    expect(message).toMatch(/^ttrpc: error unmarshalling payload/);
  });

  it('answers an unexpected message type on its stream', async () => {
    peer.send(1, MessageType.Response, 0, new Uint8Array());
    peer.send(3, 9, 0, new Uint8Array([1, 2, 3]));
    expect(status(await peer.response(1))).toEqual([Code.INVALID_ARGUMENT, 'ttrpc: unexpected message type 2']);
    expect(status(await peer.response(3))).toEqual([Code.INVALID_ARGUMENT, 'ttrpc: unexpected message type 9']);
  });

  it('discards a frame just over 4 MiB, answers RESOURCE_EXHAUSTED, and keeps the connection', async () => {
    const big = new Uint8Array(MAX_MESSAGE + 1);
    peer.send(1, MessageType.Request, 0, big);
    const [code, message] = status(await peer.response(1, 10_000));
    expect(code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(message).toBe(`message length ${MAX_MESSAGE + 1} exceed maximum message size of ${MAX_MESSAGE}`);
    peer.send(3, MessageType.Request, 0, unaryRequest('after'));
    const res = await peer.response(3);
    expect(status(res)).toEqual([0, '']);
    expect(Echo.methods.Unary.responseType.decode(res.payload).text).toBe('after');
  });

  it('keeps error answers small even when they echo a huge service name', async () => {
    peer.send(1, MessageType.Request, 0, requestPayload({ service: 's'.repeat(MAX_MESSAGE - 100), method: 'M' }));
    const [code, message] = status(await peer.response(1, 10_000));
    expect(code).toBe(Code.UNIMPLEMENTED);
    expect(message.length).toBeLessThan(20_000);
    expect(message.startsWith('service sss')).toBe(true);
    peer.send(3, MessageType.Request, 0, unaryRequest('still here'));
    expect(status(await peer.response(3))).toEqual([0, '']);
  });

  it('accepts header and payload cut into single bytes', async () => {
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 1, 0]), unaryRequest('bytewise')]);
    frame.writeUInt32BE(frame.length - 10, 0);
    for (const byte of frame) {
      peer.write(Uint8Array.of(byte));
      await new Promise((r) => setImmediate(r));
    }
    const res = await peer.response(1);
    expect(Echo.methods.Unary.responseType.decode(res.payload).text).toBe('bytewise');
  });

  it('answers an expired timeout_nano with DEADLINE_EXCEEDED and aborts the handler signal', async () => {
    peer.send(1, MessageType.Request, 0, unaryRequest('slow', {
      payload: Echo.methods.Unary.requestType.encode({ delayMs: 10_000 }).finish(),
      timeoutNano: 1,
    }));
    expect(status(await peer.response(1))).toEqual([Code.DEADLINE_EXCEEDED, 'context deadline exceeded']);
    expect(fx.seen.signals[0]?.aborted).toBe(true);
    // A negative timeout is already past: answered without running the handler.
    peer.send(3, MessageType.Request, 0, unaryRequest('neg', { timeoutNano: -5 }));
    expect(status(await peer.response(3))[0]).toBe(Code.DEADLINE_EXCEEDED);
    expect(fx.seen.signals).toHaveLength(1);
  });

  it('passes the deadline to the handler context', async () => {
    let deadline: number | undefined;
    const p2 = await fx.serve('deadline', { Unary: async (_req, ctx) => ((deadline = ctx.deadline), {}) });
    const raw = await RawPeer.connect(p2);
    const before = Date.now();
    raw.send(1, MessageType.Request, 0, unaryRequest('x', { timeoutNano: 30e9 }));
    await raw.response(1);
    expect(deadline).toBeGreaterThanOrEqual(before + 30_000);
    expect(deadline).toBeLessThan(before + 31_000);
    raw.destroy();
  });

  it('closes the connection when the client half-closes (Go semantics), aborting handlers', async () => {
    peer.send(1, MessageType.Request, 0, unaryRequest('x', {
      payload: Echo.methods.Unary.requestType.encode({ delayMs: 10_000 }).finish(),
    }));
    await waitUntil(() => fx.seen.signals.length > 0, { what: 'the handler to start' });
    peer.socket.end();
    await peer.closed;
    await waitUntil(() => fx.server.connectionCount === 0, { what: 'the server to release the connection' });
    expect(fx.seen.signals[0]!.aborted).toBe(true);
  });

  it('rejects data after the client closed its side of a stream, and data with a close flag', async () => {
    peer.send(1, MessageType.Request, Flags.REMOTE_OPEN, requestPayload({ service: Echo.name, method: 'ClientStream' }));
    peer.send(1, MessageType.Data, Flags.REMOTE_CLOSED, new Uint8Array([10, 1, 65]));
    expect(status(await peer.response(1))).toEqual([Code.INVALID_ARGUMENT, 'data close message cannot include data']);
    // One write, so the server sees all three frames before the handler can finish.
    peer.write(Buffer.concat([
      encodeFrame(3, MessageType.Request, Flags.REMOTE_OPEN, requestPayload({ service: Echo.name, method: 'ClientStream' })),
      encodeFrame(3, MessageType.Data, Flags.REMOTE_CLOSED | Flags.NO_DATA),
      encodeFrame(3, MessageType.Data, 0, new Uint8Array([10, 1, 65])),
    ]));
    expect(status(await peer.response(3))).toEqual([Code.INVALID_ARGUMENT, 'data handling error: ttrpc: stream closed']);
    // A later call on the same connection is answered after anything stream 3 could still send.
    peer.send(5, MessageType.Request, 0, unaryRequest('after'));
    expect(status(await peer.response(5))).toEqual([0, '']);
    expect(peer.frames.filter((f) => f.streamId === 3)).toHaveLength(1);
  });
});
