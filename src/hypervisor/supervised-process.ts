// A child process whose exit is always observed and whose last stderr lines are
// kept for error messages. Every external process (QEMU, virtiofsd) goes through here.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { VmExit } from './hypervisor.js';

const STDERR_TAIL_BYTES = 8192;

export class SupervisedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<VmExit>;
  private tail = '';
  private exit: VmExit | undefined;

  constructor(
    readonly name: string,
    path: string,
    args: readonly string[],
    opts: Pick<SpawnOptions, 'env' | 'cwd'> = {},
  ) {
    // Own process group: a signal aimed at the shim's group must not take the VM with it.
    this.child = spawn(path, args, { ...opts, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (s: string) => {
      this.tail = (this.tail + s).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.exit ??= { code, signal, stderr: this.tail.trim() };
        resolve(this.exit);
      };
      this.child.once('error', (err) => {
        this.tail += `\n${err.message}`;
        done(null, null);
      });
      this.child.once('exit', done);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get stderrTail(): string {
    return this.tail.trim();
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is reaped. */
  async stop(graceMs = 3000): Promise<VmExit> {
    if (this.running) {
      this.signal('SIGTERM');
      const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  kill(): Promise<VmExit> {
    if (this.running) this.signal('SIGKILL');
    return this.exited;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      // Already gone: the exit handler settles `exited`.
    }
  }
}

export function describeExit(name: string, e: VmExit): string {
  const how = e.signal ? `killed by ${e.signal}` : e.code === null ? 'failed to start' : `exited with code ${e.code}`;
  return `${name} ${how}${e.stderr ? `: ${e.stderr.split('\n').slice(-5).join(' | ')}` : ''}`;
}
