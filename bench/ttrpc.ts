// Unary throughput and latency: our ttrpc client/server next to @grpc/grpc-js, both over a
// unix socket, measured in the same run. Each server runs in its own child process (as the
// shim and containerd do), so client and server do not share one event loop.
// Run: npx tsx bench/ttrpc.ts [durationMs] [callers,...]
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ttrpc_testing_Echo as Echo } from '../src/gen/services.js';
import { TtrpcServer, connectUnix, serviceClient } from '../src/ttrpc/index.js';

const ECHO_PROTO = fileURLToPath(new URL('../proto/testing/echo.proto', import.meta.url));
const REQUEST = { text: 'hello', blob: new Uint8Array(32).fill(1) };

export interface BenchOptions {
  durationMs?: number;
  warmupMs?: number;
  callers?: number[];
}

export interface BenchRow {
  system: 'ttrpc' | 'grpc-js';
  callers: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
}

type Call = () => Promise<unknown>;

interface GrpcEchoClient extends grpc.Client {
  Unary(req: object, cb: (err: grpc.ServiceError | null, res?: unknown) => void): void;
}

function loadGrpcEcho(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: false, longs: Number, defaults: false });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { ttrpc: { testing: { Echo: grpc.ServiceClientConstructor } } };
  return pkg.ttrpc.testing.Echo;
}

async function serve(kind: string, path: string): Promise<void> {
  if (kind === 'ttrpc') {
    const server = new TtrpcServer();
    server.register(Echo, { Unary: async (req) => ({ text: req.text, blob: req.blob }) });
    await server.listen(path);
  } else {
    const server = new grpc.Server();
    server.addService(loadGrpcEcho().service, {
      Unary: (call: grpc.ServerUnaryCall<{ text: string; blob: Uint8Array }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { text: call.request.text, blob: call.request.blob }),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
  }
  // Never outlive the benchmark, even if it dies.
  process.on('disconnect', () => process.exit(0));
  process.send?.('ready');
}

function startServer(kind: BenchRow['system'], path: string): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind, path], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

async function measure(call: Call, callers: number, durationMs: number): Promise<Omit<BenchRow, 'system' | 'callers'>> {
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 1000);
  return { callsPerSec: Math.round((latencies.length * 1000) / elapsed), p50Us: at(0.5), p99Us: at(0.99) };
}

async function clientFor(kind: BenchRow['system'], path: string): Promise<{ call: Call; close: () => void }> {
  if (kind === 'ttrpc') {
    const client = await connectUnix(path);
    const echo = serviceClient(client, Echo);
    return { call: () => echo.Unary(REQUEST), close: () => void client.close() };
  }
  const Ctor = loadGrpcEcho();
  const client = new Ctor(`unix:${path}`, grpc.credentials.createInsecure()) as unknown as GrpcEchoClient;
  const call: Call = () =>
    new Promise((resolve, reject) => client.Unary(REQUEST, (err, res) => (err ? reject(err) : resolve(res))));
  return { call, close: () => client.close() };
}

export async function benchTtrpcVsGrpc(opts: BenchOptions = {}): Promise<BenchRow[]> {
  const durationMs = opts.durationMs ?? 3000;
  const warmupMs = opts.warmupMs ?? 1000;
  const callerCounts = opts.callers ?? [1, 32];
  const dir = mkdtempSync(join(tmpdir(), 'bench-ttrpc-'));
  const rows: BenchRow[] = [];
  try {
    for (const system of ['ttrpc', 'grpc-js'] as const) {
      const path = join(dir, `${system}.sock`);
      const server = await startServer(system, path);
      const client = await clientFor(system, path);
      try {
        await measure(client.call, Math.max(...callerCounts), warmupMs);
        for (const callers of callerCounts) rows.push({ system, callers, ...(await measure(client.call, callers, durationMs)) });
      } finally {
        client.close();
        server.kill();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(rows);
  return rows;
}

function printTable(rows: BenchRow[]): void {
  const lines = ['system    callers     calls/s    p50 µs    p99 µs'];
  for (const r of rows) {
    lines.push(
      `${r.system.padEnd(9)} ${String(r.callers).padStart(7)} ${String(r.callsPerSec).padStart(11)} ` +
        `${String(r.p50Us).padStart(9)} ${String(r.p99Us).padStart(9)}`,
    );
  }
  for (const callers of new Set(rows.map((r) => r.callers))) {
    const t = rows.find((r) => r.system === 'ttrpc' && r.callers === callers);
    const g = rows.find((r) => r.system === 'grpc-js' && r.callers === callers);
    if (t && g) lines.push(`ttrpc / grpc-js throughput at ${callers} caller(s): ${(t.callsPerSec / g.callsPerSec).toFixed(2)}x`);
  }
  console.log(lines.join('\n'));
}

const self = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (self && process.argv[2] === '--serve') {
  await serve(process.argv[3]!, process.argv[4]!);
} else if (self) {
  const duration = process.argv[2] ? Number(process.argv[2]) : undefined;
  const callers = process.argv[3] ? process.argv[3].split(',').map(Number) : undefined;
  await benchTtrpcVsGrpc({ durationMs: duration, callers });
}
