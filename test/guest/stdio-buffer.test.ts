import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputBuffer } from '../../src/guest/stdio-buffer.js';

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('OutputBuffer', () => {
  it('returns at most len bytes, in order, then an empty buffer at EOF', async () => {
    const b = new OutputBuffer();
    b.push(Buffer.from('hello '));
    b.push(Buffer.from('world'));
    b.end();
    expect((await b.read(4)).toString()).toBe('hell');
    expect((await b.read(100)).toString()).toBe('o world');
    expect((await b.read(100)).length).toBe(0);
    expect((await b.read(100)).length).toBe(0);
  });

  it('blocks a read until data or EOF arrives', async () => {
    const b = new OutputBuffer();
    let got: Buffer | undefined;
    const p = b.read(10).then((d) => (got = d));
    await tick();
    expect(got).toBeUndefined();
    b.push(Buffer.from('x'));
    await p;
    expect(got?.toString()).toBe('x');
    const eof = b.read(10);
    b.end();
    expect((await eof).length).toBe(0);
  });

  it('serves concurrent readers in call order and aborts a waiting one', async () => {
    const b = new OutputBuffer();
    const ac = new AbortController();
    const first = b.read(1);
    const aborted = b.read(1, ac.signal);
    const third = b.read(1);
    ac.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
    b.push(Buffer.from('ab'));
    expect((await first).toString()).toBe('a');
    expect((await third).toString()).toBe('b');
  });

  it('pauses the source when full and resumes once read below the limit', async () => {
    const source = new PassThrough();
    const b = new OutputBuffer(10);
    b.attach(source);
    source.write(Buffer.alloc(8, 1));
    source.write(Buffer.alloc(8, 2));
    await tick();
    expect(b.size).toBe(16);
    expect(source.isPaused()).toBe(true);
    source.write(Buffer.alloc(8, 3)); // stays in the source while paused
    await tick();
    expect(b.size).toBe(16);
    expect((await b.read(12)).length).toBe(12);
    await tick();
    expect(b.size).toBe(12); // resumed: the waiting 8 bytes came in, and it is full (paused) again
    expect(source.isPaused()).toBe(true);
  });

  it('ends the stream after the grace period even if the source stays open', async () => {
    const source = new PassThrough();
    const b = new OutputBuffer();
    b.attach(source);
    source.write('last words');
    b.endAfter(30);
    await tick();
    expect(b.ended).toBe(false);
    await tick(50);
    expect(b.ended).toBe(true);
    expect(source.destroyed).toBe(true);
    expect((await b.read(100)).toString()).toBe('last words');
    expect((await b.read(100)).length).toBe(0);
    await b.eofServed;
  });

  it('does not cut off a full buffer the host has not drained yet', async () => {
    const source = new PassThrough();
    const b = new OutputBuffer(4);
    b.attach(source);
    source.write('12345678');
    await tick();
    b.endAfter(20);
    await tick(60);
    expect(b.ended).toBe(false); // paused for the host, not stuck in the process
    expect((await b.read(100)).toString()).toBe('12345678');
    await tick(60);
    expect(b.ended).toBe(true);
  });
});
