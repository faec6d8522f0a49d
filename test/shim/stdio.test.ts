import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { constants as fsc, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { Code, RuntimeError, notFound, unavailable } from '../../src/errors/index.js';
import type { ProcessStreams } from '../../src/sandbox/sandbox.js';
import { attach, openProcessIo, planStdio, COPY_CHUNK, type ProcessIo, type StdioPaths } from '../../src/shim/stdio/index.js';
import { eventLoopTurns, waitUntil } from '../support/wait.js';

// ---- a scripted guest process behind the agent's stdio calls ----

/** One agent-side output stream: reads block until data, '' after end, reject after fail. */
class GuestStream {
  #chunks: Buffer[] = [];
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  reads = 0;
  maxRequested = 0;

  push(data: Buffer | string): void {
    this.#chunks.push(Buffer.from(data));
    this.#kick();
  }
  end(): void {
    this.#ended = true;
    this.#kick();
  }
  fail(err: Error): void {
    this.#error = err;
    this.#kick();
  }
  get pending(): number {
    return this.#chunks.reduce((n, c) => n + c.length, 0);
  }
  async read(maxBytes: number): Promise<Uint8Array> {
    this.reads++;
    this.maxRequested = Math.max(this.maxRequested, maxBytes);
    for (;;) {
      if (this.#error) throw this.#error;
      const head = this.#chunks[0];
      if (head !== undefined) {
        if (head.length <= maxBytes) return this.#chunks.shift()!;
        this.#chunks[0] = head.subarray(maxBytes);
        return head.subarray(0, maxBytes);
      }
      if (this.#ended) return new Uint8Array(0);
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
  #kick(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/** Echoes stdin to stdout, accepting at most `maxWrite` bytes per call; exits (says bye on stderr) when stdin closes. */
class FakeProcess {
  readonly stdout = new GuestStream();
  readonly stderr = new GuestStream();
  readonly stdinChunks: Buffer[] = [];
  closeStdinCalls = 0;
  writeError: Error | undefined;
  readonly ids = new Set<string>();
  constructor(
    private readonly maxWrite = 7_000,
    private readonly exitOnStdinClose = true,
  ) {}

  async writeStdin(c: string, e: string, data: Uint8Array): Promise<number> {
    this.ids.add(`${c}/${e}`);
    if (this.writeError) throw this.writeError;
    const n = Math.min(data.length, this.maxWrite);
    const taken = Buffer.from(data.subarray(0, n));
    this.stdinChunks.push(Buffer.from(data)); // what was offered, to check chunk sizes
    this.stdout.push(taken);
    return n;
  }
  async closeStdin(c: string, e: string): Promise<void> {
    this.ids.add(`${c}/${e}`);
    this.closeStdinCalls++;
    if (this.exitOnStdinClose) this.exit();
  }
  exit(): void {
    this.stderr.push('bye\n');
    this.stdout.end();
    this.stderr.end();
  }
  readStdout(c: string, e: string, n: number): Promise<Uint8Array> {
    this.ids.add(`${c}/${e}`);
    return this.stdout.read(n);
  }
  readStderr(c: string, e: string, n: number): Promise<Uint8Array> {
    this.ids.add(`${c}/${e}`);
    return this.stderr.read(n);
  }
}

/** The guest process's streams as the sandbox hands them to the copy, bound to one process. */
function streamsOf(p: FakeProcess, c: string, e: string): ProcessStreams {
  return {
    write: (data) => p.writeStdin(c, e, data),
    read: (stream, n) => (stream === 'stdout' ? p.readStdout(c, e, n) : p.readStderr(c, e, n)),
    closeStdin: () => p.closeStdin(c, e),
  };
}

// ---- containerd's side of the FIFOs ----

let dir: string;
let logLines: string[];
let log: Logger;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'stdio-test-'));
  logLines = [];
  log = createLogger({ level: 'debug', destination: { write: (s: string) => void logLines.push(s) } });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * containerd opens the read side before Create. Open it now (non-blocking), start
 * reading only after the shim's writer exists (a FIFO with no writer reads as EOF).
 */
function reader(path: string): { start(): Socket; collect(): Promise<Buffer> } {
  const fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  let socket: Socket | undefined;
  const start = (): Socket => {
    socket ??= new Socket({ fd, readable: true, writable: false });
    return socket;
  };
  cleanups.push(() => (socket ? void socket.destroy() : closeSync(fd)));
  return {
    start,
    collect: () =>
      new Promise((resolve, reject) => {
        const s = start();
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => resolve(Buffer.concat(parts)));
        s.on('error', reject);
      }),
  };
}

/** containerd's stdin writer; opened once the shim's reader exists. */
function writer(path: string): Socket {
  const s = new Socket({ fd: openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK), readable: false, writable: true });
  s.on('error', () => undefined); // EPIPE once the shim stops reading is expected in some tests
  cleanups.push(() => void s.destroy());
  return s;
}

async function open(paths: Partial<StdioPaths>): Promise<ProcessIo> {
  const io = await openProcessIo({ stdin: '', stdout: '', stderr: '', terminal: false, ...paths }, log);
  cleanups.push(() => io.close());
  return io;
}

/** stdin, stdout and stderr FIFOs with containerd's readers in place, opened by the shim. */
async function openAllThree(): Promise<{ inP: string; out: ReturnType<typeof reader>; err: ReturnType<typeof reader>; io: ProcessIo }> {
  const [inP, outP, errP] = [fifo('in'), fifo('out'), fifo('err')];
  const out = reader(outP);
  const err = reader(errP);
  return { inP, out, err, io: await open({ stdin: inP, stdout: outP, stderr: errP }) };
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 13)) & 0xff;
  return b;
}

/** Tracks whether `p` has settled, without waiting on it. */
function settledFlag(p: Promise<unknown>): { readonly settled: boolean } {
  const flag = { settled: false };
  void p.then(
    () => (flag.settled = true),
    () => (flag.settled = true),
  );
  return flag;
}

/** A FIFO's default capacity on Linux: 16 pages. */
const PIPE_BYTES = 64 * 1024;

// ---- tests ----

describe('planStdio', () => {
  it('treats plain paths as FIFOs and drops stderr with a terminal', () => {
    expect(planStdio({ stdin: '/f/in', stdout: '/f/out', stderr: '/f/err', terminal: false })).toEqual({
      stdin: '/f/in',
      stdout: { kind: 'fifo', path: '/f/out' },
      stderr: { kind: 'fifo', path: '/f/err' },
    });
    expect(planStdio({ stdin: '', stdout: '/f/out', stderr: '/f/err', terminal: true })).toEqual({
      stdin: undefined,
      stdout: { kind: 'fifo', path: '/f/out' },
      stderr: { kind: 'discard' },
    });
  });

  it('sends both streams of a file:// process to the stdout file, as containerd does', () => {
    const plan = planStdio({ stdin: '', stdout: 'file:///var/log/a%20b.log', stderr: 'file:///other', terminal: false });
    expect(plan.stdout).toEqual({ kind: 'append-file', path: '/var/log/a b.log' });
    expect(plan.stderr).toEqual(plan.stdout);
  });

  it('names the URI when refusing binary:// and unknown schemes', () => {
    const uri = 'binary:///usr/bin/logger?id=1';
    expect(() => planStdio({ stdin: '', stdout: uri, stderr: uri, terminal: false })).toThrow(
      expect.objectContaining({ code: Code.UNIMPLEMENTED, message: expect.stringContaining(uri) }),
    );
    expect(() => planStdio({ stdin: '', stdout: 'tcp://x:1', stderr: '', terminal: false })).toThrow(
      expect.objectContaining({ code: Code.INVALID_ARGUMENT }),
    );
  });
});

describe('stdio copy over real FIFOs', () => {
  it('round-trips stdin through an echoing process, in ≤32 KiB pieces with partial writes', async () => {
    const { inP, out, err, io } = await openAllThree();
    const proc = new FakeProcess();
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    const gotOut = out.collect();
    const gotErr = err.collect();

    const input = pattern(300_000);
    const w = writer(inP);
    w.end(input);

    expect(Buffer.compare(await gotOut, input)).toBe(0);
    expect((await gotErr).toString()).toBe('bye\n');
    await copy.outputDone;
    expect(proc.closeStdinCalls).toBe(1);
    expect(Math.max(...proc.stdinChunks.map((c) => c.length))).toBeLessThanOrEqual(COPY_CHUNK);
    expect(proc.stdout.maxRequested).toBe(COPY_CHUNK);
    expect([...proc.ids]).toEqual(['c1/e1']);
  });

  it('delivers 5 MiB of output complete and in order', async () => {
    const outP = fifo('out');
    const out = reader(outP);
    const io = await open({ stdout: outP });
    const proc = new FakeProcess();
    const data = pattern(5 * 1024 * 1024);
    for (let off = 0, n = 1; off < data.length; off += n, n = (n * 7 + 13) % 100_000) proc.stdout.push(data.subarray(off, off + n));
    proc.exit();
    const copy = attach(io, streamsOf(proc, 'c1', 'c1'));
    const got = await out.collect();
    await copy.outputDone;
    expect(got.length).toBe(data.length);
    expect(Buffer.compare(got, data)).toBe(0);
  });

  it('resolves outputDone only once every byte is in the FIFO', async () => {
    const outP = fifo('out');
    const out = reader(outP);
    const io = await open({ stdout: outP });
    const proc = new FakeProcess();
    const data = pattern(1024 * 1024);
    proc.stdout.push(data);
    proc.exit();
    const copy = attach(io, streamsOf(proc, 'c1', 'c1'));
    const done = settledFlag(copy.outputDone);
    // The reader is not reading yet: once the copy has taken more from the agent than the
    // 64 KiB pipe holds, some of it cannot be in the FIFO, so outputDone must still wait.
    await waitUntil(() => data.length - proc.stdout.pending > PIPE_BYTES, { what: 'the copy to take more than a pipe full from the agent' });
    await eventLoopTurns(3);
    expect(done.settled).toBe(false);
    const got = out.collect();
    await copy.outputDone;
    // The shim may tear the I/O down as soon as outputDone resolves: nothing may be lost.
    await io.close();
    expect(Buffer.compare(await got, data)).toBe(0);
  });

  it('closes the agent stdin exactly once at stdin EOF, even if CloseIO follows', async () => {
    const inP = fifo('in');
    const io = await open({ stdin: inP });
    const proc = new FakeProcess();
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    const w = writer(inP);
    w.end('line\n');
    await copy.outputDone; // the fake exits when its stdin closes
    expect(proc.closeStdinCalls).toBe(1);
    await copy.closeStdin();
    expect(proc.closeStdinCalls).toBe(1);
    expect(Buffer.concat(proc.stdinChunks).toString()).toBe('line\n');
  });

  it('CloseIO forwards what was written, then closes stdin even while a writer stays open', async () => {
    const inP = fifo('in');
    const io = await open({ stdin: inP });
    const proc = new FakeProcess();
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'), { stdinDrainMs: 300 });
    const w = writer(inP);
    await new Promise((r) => w.write('abc', r)); // in the FIFO
    await copy.closeStdin();
    expect(Buffer.concat(proc.stdinChunks).toString()).toBe('abc');
    expect(proc.closeStdinCalls).toBe(1);
    await copy.outputDone;
  });

  it('CloseIO does not wait when nobody ever opened the stdin FIFO', async () => {
    const inP = fifo('in');
    const io = await open({ stdin: inP });
    const proc = new FakeProcess();
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'), { stdinDrainMs: 20_000 });
    const t0 = Date.now();
    await copy.closeStdin();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(proc.closeStdinCalls).toBe(1);
  });

  it('closes stdin at once for a process without stdin and never waits on it', async () => {
    const outP = fifo('out');
    const out = reader(outP);
    const io = await open({ stdout: outP });
    expect(io.stdin).toBeUndefined();
    const proc = new FakeProcess();
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    await expect(out.collect()).resolves.toEqual(Buffer.alloc(0)); // exit came from closeStdin
    await copy.outputDone;
    await copy.closeStdin();
    expect(proc.closeStdinCalls).toBe(1);
  });

  it('reads only stdout with a terminal', async () => {
    const [outP, errP] = [fifo('out'), fifo('err')];
    const out = reader(outP);
    const io = await open({ stdout: outP, stderr: errP, terminal: true });
    const proc = new FakeProcess();
    proc.stdout.push('tty output');
    proc.stdout.end();
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    expect((await out.collect()).toString()).toBe('tty output');
    await copy.outputDone; // would hang if it waited for stderr, which is never ended here
    expect(proc.stderr.reads).toBe(0);
    // The stderr FIFO was never opened: a non-blocking writer open finds no reader.
    expect(() => openSync(errP, fsc.O_WRONLY | fsc.O_NONBLOCK)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
  });

  it('keeps draining the agent after the stdout reader goes away (EPIPE)', async () => {
    const outP = fifo('out');
    const out = reader(outP);
    const io = await open({ stdout: outP });
    const proc = new FakeProcess(7_000, false);
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    const s = out.start();
    proc.stdout.push('first');
    await new Promise<void>((r) => s.once('data', () => r()));
    s.destroy();
    await new Promise((r) => s.once('close', r));
    proc.stdout.push(pattern(2 * 1024 * 1024));
    proc.exit();
    await copy.outputDone;
    expect(proc.stdout.pending).toBe(0);
    expect(logLines.join('')).toContain('reader went away');
  });

  it('ends the copies with a log line when the agent fails', async () => {
    const { inP, out, err, io } = await openAllThree();
    const proc = new FakeProcess();
    proc.writeError = notFound('process e1 not found');
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    const gotOut = out.collect();
    const gotErr = err.collect();
    writer(inP).write('data');
    proc.stdout.push('partial');
    // The copy reads again only after 'partial' is in the FIFO: fail the agent after that.
    await waitUntil(() => proc.stdout.reads >= 2, { what: "the stdout copy to pass on 'partial' and read again" });
    proc.stdout.fail(unavailable('sandbox VM is gone'));
    proc.stderr.fail(new RuntimeError(Code.NOT_FOUND, 'process e1 not found'));
    await copy.outputDone;
    // containerd's readers see EOF instead of hanging.
    expect((await gotOut).toString()).toBe('partial');
    expect((await gotErr).length).toBe(0);
    await copy.closeStdin(); // CloseIO after the failure must not throw either
    expect(logLines.join('')).toContain('UNAVAILABLE');
    expect(logLines.join('')).toContain('stdin copy ended');
  });

  it('waits for a reader that arrives after the FIFO was opened', async () => {
    const outP = fifo('out');
    const io = await open({ stdout: outP }); // no reader yet: falls back to O_RDWR
    const proc = new FakeProcess(7_000, false);
    proc.stdout.push('early ');
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    // The copy reads again only after 'early ' is in the FIFO, before any reader exists.
    await waitUntil(() => proc.stdout.reads >= 2, { what: "the stdout copy to write 'early ' and read again" });
    const got = reader(outP).collect();
    proc.stdout.push('late');
    proc.exit();
    await copy.outputDone;
    expect((await got).toString()).toBe('early late');
  });

  it('close() releases every descriptor, is idempotent and ends outputDone', async () => {
    const [inP, outP, errP] = [fifo('in'), fifo('out'), fifo('err')];
    const out = reader(outP);
    const err = reader(errP);
    const before = fdCount();
    const io = await openProcessIo({ stdin: inP, stdout: outP, stderr: errP, terminal: false }, log);
    expect(fdCount()).toBe(before + 3);
    const proc = new FakeProcess(); // never exits: agent reads stay pending
    const copy = attach(io, streamsOf(proc, 'c1', 'e1'));
    await io.close();
    await io.close();
    await copy.outputDone;
    expect(fdCount()).toBe(before);
    expect(proc.closeStdinCalls).toBe(0);
    void out;
    void err;
  });

  it('releases what it opened when a later FIFO is missing', async () => {
    const inP = fifo('in');
    const before = fdCount();
    await expect(openProcessIo({ stdin: inP, stdout: join(dir, 'missing'), stderr: '', terminal: false }, log)).rejects.toMatchObject({
      code: Code.NOT_FOUND,
      message: expect.stringContaining('missing'),
    });
    expect(fdCount()).toBe(before);
  });

  it('appends both streams to a file:// target, creating its directory', async () => {
    const file = join(dir, 'logs', 'nested', 'c1.log');
    const uri = `file://${file}`;
    for (const round of [1, 2]) {
      const before = fdCount();
      const io = await openProcessIo({ stdin: '', stdout: uri, stderr: uri, terminal: false }, log);
      const proc = new FakeProcess();
      proc.stdout.push(`out${round}\n`);
      const copy = attach(io, streamsOf(proc, 'c1', 'e1')); // no stdin: closeStdin makes it exit with "bye" on stderr
      await copy.outputDone;
      await io.close();
      expect(fdCount()).toBe(before);
    }
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).sort();
    expect(lines).toEqual(['bye', 'bye', 'out1', 'out2']);
  });

  it('refuses binary:// with UNIMPLEMENTED naming the URI', async () => {
    const uri = 'binary:///usr/local/bin/log-driver?tag=x';
    await expect(openProcessIo({ stdin: '', stdout: uri, stderr: uri, terminal: false }, log)).rejects.toMatchObject({
      code: Code.UNIMPLEMENTED,
      message: expect.stringContaining(uri),
    });
  });
});
