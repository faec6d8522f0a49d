// The daemon's log into containerd's `log` FIFO, against real FIFOs: a reader that stalls
// must not stall the shim, a reader that goes away and comes back (containerd restarting)
// gets the log again, and close() hands over what it can within its bound.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openShimLog, type ShimLog } from '../../src/shim/shim-log.js';
import { waitUntil } from '../support/wait.js';

interface Line {
  level: string;
  msg: string;
  seq?: number;
  dropped?: number;
  [key: string]: unknown;
}

/** True while nobody holds the FIFO's read end: a non-blocking writer open fails with ENXIO. */
function hasNoReader(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return true;
    throw err;
  }
}

/** The read end of the FIFO, opened without reading; `start()` begins collecting. */
function fifoReader(path: string): { start(): void; text(): string; lines(): Line[]; close(): void } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let socket: net.Socket | undefined;
  let text = '';
  let closed = false;
  return {
    start() {
      socket = new net.Socket({ fd, readable: true, writable: false });
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('error', () => undefined);
    },
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .slice(0, -1) // only complete lines
        .map((l) => JSON.parse(l) as Line),
    close() {
      if (closed) return;
      closed = true;
      if (socket) socket.destroy();
      else closeSync(fd);
    },
  };
}

/** An echo server on a unix socket: a round trip through it needs a free event loop. */
async function echoServer(path: string): Promise<{ roundTrip(): Promise<void>; close(): void }> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(path, r));
  return {
    roundTrip: () =>
      new Promise<void>((resolve, reject) => {
        const c = net.connect(path, () => c.write('ping'));
        c.on('data', () => {
          c.destroy();
          resolve();
        });
        c.on('error', reject);
      }),
    close: () => server.close(),
  };
}

const PAD = 'x'.repeat(200);

describe('openShimLog on a FIFO', () => {
  let bundle: string;
  let fifo: string;
  const cleanups: Array<() => void> = [];

  beforeEach(() => {
    bundle = mkdtempSync(join(tmpdir(), 'shim-log-'));
    fifo = join(bundle, 'log');
    execFileSync('mkfifo', [fifo]);
  });
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
    rmSync(bundle, { recursive: true, force: true });
  });

  function open(opts: Parameters<typeof openShimLog>[3] = {}): ShimLog {
    const shimLog = openShimLog(bundle, false, { namespace: 'ns', id: 'sb' }, opts);
    cleanups.push(() => shimLog.close());
    return shimLog;
  }

  it('keeps the event loop free while the reader stalls, drops what does not fit, and says how many once reading resumes', async () => {
    const reader = fifoReader(fifo);
    cleanups.push(() => reader.close());
    const echo = await echoServer(join(bundle, 'echo.sock'));
    cleanups.push(() => echo.close());
    const { log } = open({ bufferBytes: 256 * 1024 });

    // 5000 lines of ~300 bytes: ~1.5 MiB against a 64 KiB pipe nobody reads.
    const total = 5000;
    let bytes = 0;
    for (let seq = 0; seq < total; seq++) {
      log.info({ seq, pad: PAD }, 'filler');
      bytes += 100 + PAD.length;
      // A socket round trip and a timer in the middle of it: both need the event loop. The
      // 0 ms timer is a probe that the timers phase still runs, not a wait.
      if (seq % 1000 === 999) {
        await echo.roundTrip();
        await new Promise((r) => setTimeout(r, 0));
      }
    }
    expect(bytes).toBeGreaterThan(1024 * 1024);

    reader.start();
    await waitUntil(() => reader.lines().some((l) => l.dropped !== undefined), { what: 'the "dropped" line', timeoutMs: 10_000 });
    log.info({ seq: total }, 'after');
    await waitUntil(() => reader.lines().some((l) => l.seq === total), { what: 'the line logged after resuming', timeoutMs: 10_000 });

    const lines = reader.lines();
    const data = lines.filter((l) => l.msg === 'filler').map((l) => l.seq as number);
    const droppedLine = lines.find((l) => l.dropped !== undefined) as Line;
    expect(droppedLine).toMatchObject({ level: 'warn', name: 'containerd-shim-kata-v2', namespace: 'ns', id: 'sb' });
    expect(droppedLine.msg).toBe(`shim log: ${droppedLine.dropped} lines dropped while containerd was not reading the log FIFO`);
    expect(droppedLine.dropped).toBeGreaterThan(0);
    // Every line is either delivered, whole and in order, or counted as dropped.
    expect(data.length + (droppedLine.dropped as number)).toBe(total);
    expect(data).toEqual([...data].sort((a, b) => a - b));
    expect(new Set(data).size).toBe(data.length);
    expect(data.slice(0, 100)).toEqual([...Array(100).keys()]); // the oldest lines are kept
    // The report comes after everything that was queued, and before what follows.
    const order = lines.map((l) => (l.dropped !== undefined ? 'dropped' : l.seq === total ? 'after' : 'filler'));
    expect(order.slice(-2)).toEqual(['dropped', 'after']);
    expect(lines.filter((l) => l.dropped !== undefined)).toHaveLength(1);
  });

  it('survives the reader going away and writes again once a new one opens the FIFO', async () => {
    const first = fifoReader(fifo);
    first.start();
    const { log } = open({ bufferBytes: 8 * 1024, reopenIntervalMs: 20 });
    log.info({ seq: 1 }, 'before');
    await waitUntil(() => first.lines().some((l) => l.seq === 1), { what: 'the first line', timeoutMs: 10_000 });
    first.close();
    await waitUntil(() => hasNoReader(fifo), { what: 'the first reader to be gone' });

    // No reader at all (containerd down): EPIPE, then ENXIO on reopen. Nothing throws;
    // 8 KiB are kept, the rest is counted.
    for (let seq = 2; seq < 102; seq++) expect(() => log.info({ seq, pad: PAD }, 'while down')).not.toThrow();

    const second = fifoReader(fifo);
    cleanups.push(() => second.close());
    second.start();
    await waitUntil(() => second.lines().some((l) => l.dropped !== undefined), { what: 'the "dropped" line on the new reader', timeoutMs: 10_000 });
    const lines = second.lines();
    const seqs = lines.filter((l) => l.msg === 'while down').map((l) => l.seq as number);
    const dropped = lines.find((l) => l.dropped !== undefined)?.dropped as number;
    expect(seqs.length).toBeGreaterThan(0);
    expect(seqs[0]).toBe(2);
    expect(seqs.length + dropped).toBe(100);
    expect(second.text().endsWith('\n')).toBe(true); // whole lines only
  });

  it('close() hands queued lines to a reader that catches up within the bound', async () => {
    // The reader is another process (this one is busy in close()): it opens the FIFO the
    // way containerd does (read-write), waits, then copies into a file.
    const out = join(bundle, 'out');
    const child: ChildProcess = spawn('sh', ['-c', 'exec 3<>"$1"; echo ready; sleep 0.5; exec cat <&3 >"$2"', 'sh', fifo, out], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    await new Promise<void>((r) => child.stdout?.once('data', () => r()));

    const shimLog = openShimLog(bundle, false, { id: 'sb' }, { closeTimeoutMs: 10_000 });
    const total = 700; // ~200 KiB: most of it is still queued when close() starts
    for (let seq = 0; seq < total; seq++) shimLog.log.info({ seq, pad: PAD }, 'queued');
    shimLog.close();
    expect(() => shimLog.log.info('after close')).not.toThrow();

    const seqs = (): number[] =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .slice(0, -1) // cat may be mid-line
            .map((l) => (JSON.parse(l) as Line).seq as number)
        : [];
    await waitUntil(() => seqs().length === total, { what: 'every queued line in the reader', timeoutMs: 10_000 });
    expect(seqs()).toEqual([...Array(total).keys()]);
  });

  it('close() gives up after its bound when nobody reads, and never throws', () => {
    const reader = fifoReader(fifo);
    cleanups.push(() => reader.close());
    const shimLog = openShimLog(bundle, false, { id: 'sb' }, { closeTimeoutMs: 100 });
    for (let seq = 0; seq < 700; seq++) shimLog.log.info({ seq, pad: PAD }, 'stuck');
    expect(() => shimLog.close()).not.toThrow(); // returns: the test would hang otherwise
    expect(() => shimLog.log.info('after close')).not.toThrow();
    expect(() => shimLog.close()).not.toThrow();
  });

  // close() is synchronous: this test's timeout (far below the 60 s bound) fails it if it waited.
  it('close() does not wait for a reader that is gone: one reopen attempt, then it closes', { timeout: 10_000 }, () => {
    const reader = fifoReader(fifo);
    const shimLog = openShimLog(bundle, false, { id: 'sb' }, { closeTimeoutMs: 60_000 });
    reader.close();
    for (let seq = 0; seq < 10; seq++) shimLog.log.info({ seq }, 'nobody reads this');
    shimLog.close();
    expect(() => shimLog.log.info('after close')).not.toThrow();
  });

  it('falls back to stderr when the FIFO has no reader', () => {
    const shimLog = openShimLog(bundle, false, { id: 'sb' });
    expect(shimLog.log.level).toBe('info');
    expect(() => shimLog.close()).not.toThrow();
  });
});
