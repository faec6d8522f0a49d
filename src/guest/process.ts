// One process in a container (its init or an exec): launch, pid, stdio buffers, exit.
// States: not started → running (runc wrote the pid file) → exited (status known).
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import { failedPrecondition, internal } from '../errors/index.js';
import { abortable } from './abortable.js';
import type { LaunchedProcess } from './launch.js';
import { watchExitLog } from './runc-exit-log.js';
import { runcMessage } from './runc.js';
import { OutputBuffer } from './stdio-buffer.js';

/** How long output may still trickle in after the process exited (Kata: 500 ms). */
export const DRAIN_AFTER_EXIT_MS = 500;
const PID_POLL_MS = 5;

export interface StartFiles {
  /** Written by runc once the container process exists. */
  pidFile: string;
  /** runc's JSON log, where it explains a failed start. */
  logFile: string;
}

export class ContainerProcess {
  readonly stdout = new OutputBuffer();
  readonly stderr = new OutputBuffer();
  #launched: LaunchedProcess | undefined;
  #pid: number | undefined;
  #status: number | undefined;
  #stdinClosed = false;
  #resolveExit!: (status: number) => void;
  readonly #exited = new Promise<number>((resolve) => (this.#resolveExit = resolve));
  #resolveStarted!: () => void;
  readonly #started = new Promise<void>((resolve) => (this.#resolveStarted = resolve));

  constructor(
    readonly execId: string,
    readonly terminal: boolean,
    private readonly log: Logger,
  ) {
    if (terminal) this.stderr.end(); // a terminal has one output stream
  }

  get pid(): number | undefined {
    return this.#pid;
  }

  /** Exit status once exited. */
  get status(): number | undefined {
    return this.#status;
  }

  get running(): boolean {
    return this.#pid !== undefined && this.#status === undefined;
  }

  get exited(): boolean {
    return this.#status !== undefined;
  }

  /**
   * Launches and waits until runc has created the container process (pid file) or
   * has given up; a failed start throws with runc's reason, and the process ends with
   * runc's own exit status.
   */
  async start(launch: () => Promise<LaunchedProcess>, files: StartFiles, signal?: AbortSignal): Promise<void> {
    if (this.#launched || this.exited) throw failedPrecondition(`process ${this.execId} was already started`);
    const launched = await launch();
    this.#launched = launched;
    this.stdout.attach(launched.stdout);
    // The launcher's stdin stays open until the output is over: telnetd ends its
    // session, dropping terminal output still in flight, as soon as its input closes.
    void this.stdout.finished.then(() => launched.child.stdin?.destroy());
    if (launched.stderr) this.stderr.attach(launched.stderr);
    if (this.#stdinClosed) launched.closeStdin();
    void launched.status.then((status) => this.#onExit(status));

    const pid = await waitForPidFile(files.pidFile, launched.status, signal);
    if (pid === undefined) {
      const reason = runcMessage(await readFile(files.logFile, 'utf8').catch(() => '')) || launched.diagnostics();
      if (signal?.aborted) launched.child.kill('SIGKILL');
      throw internal(`process ${this.execId} failed to start: ${reason || 'runc exited without starting it'}`);
    }
    this.#pid = pid;
    this.log.info({ processPid: pid }, 'process started');
    // runc may outlive the process (see runc-exit-log.ts): its log has the status first.
    const exitLog = watchExitLog(files.logFile, pid);
    void exitLog.status.then((status) => this.#onExit(status));
    void this.#exited.then(() => exitLog.stop());
    this.#resolveStarted();
  }

  /** Resolves with the exit status (at once when already exited). */
  wait(signal?: AbortSignal): Promise<number> {
    return abortable(this.#exited, signal);
  }

  /**
   * Resolves once the launcher (runc, or telnetd around it) has exited; at once if there
   * never was one. runc outlives the process a little: it removes its cgroup first.
   */
  launcherExited(): Promise<void> {
    return this.#launched ? this.#launched.status.then(() => undefined) : Promise.resolve();
  }

  /** Writes stdin; before the start it waits for the process to exist. */
  async write(data: Uint8Array, signal?: AbortSignal): Promise<number> {
    if (!this.#launched) await abortable(this.#started, signal);
    if (this.#stdinClosed) throw failedPrecondition(`process ${this.execId}: stdin is closed`);
    if (this.exited || !this.#launched) throw failedPrecondition(`process ${this.execId} has exited`);
    try {
      await this.#launched.write(data);
    } catch (err) {
      throw failedPrecondition(`process ${this.execId}: cannot write stdin: ${(err as Error).message}`);
    }
    return data.length;
  }

  closeStdin(): void {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    this.#launched?.closeStdin();
  }

  /** New terminal size; a no-op for a process without a terminal, as in containerd's runc shim. */
  resize(rows: number, cols: number): void {
    if (this.terminal && this.running) this.#launched?.resize(rows, cols);
  }

  /** Signals the process itself (exec'd processes; a container's init goes through runc). */
  kill(signal: number): void {
    if (!this.running || this.#pid === undefined) return;
    try {
      process.kill(this.#pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** Ends a process that never started (its container was killed or removed before StartContainer). */
  finish(status: number): void {
    if (this.#launched || this.exited) return;
    this.#onExit(status);
  }

  /** Drops output and pipes: the process is being forgotten. */
  dispose(): void {
    this.stdout.dispose();
    this.stderr.dispose();
    this.#launched?.child.stdin?.destroy();
  }

  #onExit(status: number): void {
    if (this.#status !== undefined) return;
    this.#status = status;
    this.log.info({ status }, 'process exited');
    this.stdout.endAfter(DRAIN_AFTER_EXIT_MS);
    this.stderr.endAfter(DRAIN_AFTER_EXIT_MS);
    this.#resolveExit(status);
    this.#resolveStarted(); // stdin writers waiting for the start now fail instead of hanging
  }
}

/** The pid runc wrote, or undefined if the launcher exited (or `signal` aborted) first. */
async function waitForPidFile(pidFile: string, exited: Promise<number>, signal?: AbortSignal): Promise<number | undefined> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    const wasGone = gone;
    const text = await readFile(pidFile, 'utf8').catch(() => '');
    const pid = Number.parseInt(text, 10);
    if (pid > 0) return pid;
    if (wasGone || signal?.aborted) return undefined;
    await sleep(PID_POLL_MS);
  }
}
