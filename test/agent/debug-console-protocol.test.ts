// The debug console's bytes: the open line, the ready line, output and exit frames.
import { describe, expect, it } from 'vitest';
import {
  ConsoleOpenDecoder,
  ConsoleReplyDecoder,
  DEFAULT_TERM,
  MAX_FRAME_DATA,
  encodeFrames,
  encodeOpen,
  parseOpen,
  readyLine,
  type ConsoleFrame,
} from '../../src/agent/debug-console-protocol.js';

const NONCE = '0123456789abcdef';
const output = (frames: ConsoleFrame[]): string =>
  Buffer.concat(frames.flatMap((f) => (f.type === 'output' ? [f.data] : []))).toString();

describe('open line', () => {
  it('round-trips nonce, size and TERM', () => {
    const line = encodeOpen({ nonce: NONCE, rows: 40, cols: 120, term: 'xterm-256color' }).toString();
    expect(line).toBe(`KATA_DEBUG_CONSOLE_OPEN nonce=${NONCE} rows=40 cols=120 term=xterm-256color\n`);
    expect(parseOpen(line.trimEnd())).toEqual({ nonce: NONCE, rows: 40, cols: 120, term: 'xterm-256color' });
  });

  it('turns a size or TERM it cannot use into "none" and the default, never into shell input', () => {
    const line = encodeOpen({ nonce: NONCE, rows: -1, cols: 1.5, term: 'x; rm -rf /' }).toString();
    expect(parseOpen(line)).toEqual({ nonce: NONCE, rows: 0, cols: 0, term: DEFAULT_TERM });
    expect(parseOpen(`KATA_DEBUG_CONSOLE_OPEN nonce=${NONCE}`)).toEqual({ nonce: NONCE, rows: 0, cols: 0, term: DEFAULT_TERM });
  });

  it('refuses other lines and nonces that are not hex', () => {
    expect(() => parseOpen('GET / HTTP/1.1')).toThrow(/expected KATA_DEBUG_CONSOLE_OPEN/);
    expect(() => parseOpen('KATA_DEBUG_CONSOLE_OPEN nonce=xyz')).toThrow(/valid nonce/);
    expect(() => encodeOpen({ nonce: 'short', rows: 0, cols: 0, term: '' })).toThrow(/hex digits/);
  });
});

describe('open decoder (the guest side)', () => {
  const open = { nonce: NONCE, rows: 24, cols: 80, term: 'vt100' };

  it('finds the open line after noise, split across chunks, and hands over what follows it', () => {
    const bad: Error[] = [];
    const d = new ConsoleOpenDecoder((e) => bad.push(e));
    const line = encodeOpen(open);
    expect(d.push(Buffer.from('stale bytes from an earlier client\n'))).toBeUndefined();
    expect(d.push(line.subarray(0, 10))).toBeUndefined();
    const got = d.push(Buffer.concat([line.subarray(10), Buffer.from('ls\n')]));
    expect(got?.open).toEqual(open);
    expect(got?.rest.toString()).toBe('ls\n');
    expect(bad).toEqual([]);
  });

  it('skips a line that starts like an open line but does not parse, and reports it', () => {
    const bad: Error[] = [];
    const d = new ConsoleOpenDecoder((e) => bad.push(e));
    const got = d.push(Buffer.concat([Buffer.from('KATA_DEBUG_CONSOLE_OPEN nonce=xyz\n'), encodeOpen(open)]));
    expect(got?.open).toEqual(open);
    expect(bad.map((e) => e.message)).toEqual([expect.stringMatching(/valid nonce/)]);
  });
});

describe('reply decoder', () => {
  const reply = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
  const frames = (...fs: ConsoleFrame[]): Buffer => Buffer.concat(fs.flatMap(encodeFrames));

  it('drops what precedes this session\'s ready line, then yields output and exit', () => {
    const d = new ConsoleReplyDecoder(NONCE);
    const bytes = reply(
      Buffer.from('stale output of an earlier shell'),
      frames({ type: 'output', data: Buffer.from('old') }),
      readyLine('ffffffffffffffff'),
      readyLine(NONCE),
      frames({ type: 'output', data: Buffer.from('# ') }, { type: 'output', data: Buffer.from('6.1.0\r\n') }, { type: 'exit' }),
    );
    const got = [...bytes].flatMap((b) => d.push(Buffer.from([b]))); // one byte at a time
    expect(d.ready).toBe(true);
    expect(output(got)).toBe('# 6.1.0\r\n');
    expect(got.at(-1)).toEqual({ type: 'exit' });
  });

  it('splits large output into frames that each fit', () => {
    const big = Buffer.alloc(MAX_FRAME_DATA * 2 + 5, 0x61);
    const parts = encodeFrames({ type: 'output', data: big });
    expect(parts).toHaveLength(6);
    const d = new ConsoleReplyDecoder(NONCE);
    expect(output(d.push(Buffer.concat([readyLine(NONCE), ...parts])))).toBe(big.toString());
  });

  it('refuses a malformed frame instead of showing it', () => {
    const d = new ConsoleReplyDecoder(NONCE);
    expect(() => d.push(Buffer.concat([readyLine(NONCE), Buffer.from([9, 0, 0, 0, 1, 0])]))).toThrow(/malformed frame/);
  });
});
