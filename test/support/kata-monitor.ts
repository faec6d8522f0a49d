// The kata-monitor executable (dist/kata-monitor.mjs) as a child process on a free port:
// its address is read from its "listening" log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';

export const KATA_MONITOR = join(import.meta.dirname, '../../dist/kata-monitor.mjs');

export interface RunningMonitor {
  readonly address: string;
  readonly pid: number;
  get(path: string): Promise<{ status: number; body: string }>;
  /** SIGTERM, and waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface StartMonitorOptions {
  /** Default the bundle; tests of the sources pass shim/kata-monitor.ts with nodeArgs ['--import', 'tsx']. */
  readonly binary?: string;
  readonly nodeArgs?: readonly string[];
  readonly args?: readonly string[];
  readonly timeoutMs?: number;
}

export async function startKataMonitor(o: StartMonitorOptions = {}): Promise<RunningMonitor> {
  const child: ChildProcess = spawn(process.execPath, [...(o.nodeArgs ?? []), o.binary ?? KATA_MONITOR, '--listen-address', '127.0.0.1:0', ...(o.args ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let log = '';
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kata-monitor did not listen within ${o.timeoutMs ?? 10_000} ms: ${log}`)), o.timeoutMs ?? 10_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
      for (const line of log.split('\n')) {
        if (!line.includes('kata-monitor listening')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: string }).address);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kata-monitor exited (${code}) before listening: ${log}`));
    });
  });
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return {
    address,
    pid: child.pid!,
    get: (path) =>
      new Promise((resolve, reject) => {
        request({ host, port, path, timeout: 30_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
