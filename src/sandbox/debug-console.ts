// Who may open the pod VM's debug console, and when: only with debug_console_enabled, only
// while the VM runs, one session at a time (the console is one serial port). Each refusal
// and each session is one log line.
import { openDebugConsole, type DebugConsoleRequest, type DebugConsoleStream } from '../agent/debug-console.js';
import type { KataConfig } from '../config/index.js';
import { Code, RuntimeError, toRuntimeError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';

export { debugConsoleRequest, type DebugConsoleRequest } from '../agent/debug-console.js';

export interface DebugConsoleGateOptions {
  readonly sandboxId: string;
  readonly config: KataConfig;
  readonly log: Logger;
}

/** The console is one serial port: no session, one being opened, or one open. */
type GateState = { readonly kind: 'idle' } | { readonly kind: 'opening' } | { readonly kind: 'open'; readonly session: DebugConsoleStream };

export class DebugConsoleGate {
  #state: GateState = { kind: 'idle' };
  readonly #log: Logger;

  constructor(private readonly o: DebugConsoleGateOptions) {
    this.#log = o.log.child({ component: 'debug-console' });
  }

  /** `vm`: the VM's console socket, or why the VM cannot serve one now. */
  async open(vm: string | RuntimeError, req: DebugConsoleRequest): Promise<DebugConsoleStream> {
    const refuse = (err: RuntimeError): never => {
      this.#log.warn({ code: err.codeName, reason: err.message }, 'debug console refused');
      throw err;
    };
    if (!this.o.config.agent.debugConsoleEnabled) {
      refuse(
        new RuntimeError(
          Code.PERMISSION_DENIED,
          `sandbox ${this.o.sandboxId}: the debug console is not enabled; set debug_console_enabled = true in [agent.kata] of ${this.o.config.source} and start the pod again`,
        ),
      );
    }
    if (vm instanceof RuntimeError) return refuse(vm);
    if (this.#state.kind !== 'idle') {
      refuse(new RuntimeError(Code.ALREADY_EXISTS, `sandbox ${this.o.sandboxId}: a debug console session is already open (one at a time)`));
    }
    this.#state = { kind: 'opening' };
    const started = Date.now();
    let session: DebugConsoleStream;
    try {
      session = await openDebugConsole(vm, req);
    } catch (err) {
      this.#state = { kind: 'idle' };
      return refuse(toRuntimeError(err));
    }
    this.#state = { kind: 'open', session };
    this.#log.info({ rows: req.rows, cols: req.cols, term: req.term }, 'debug console session opened');
    // Over when the shell ended (its output is all read) or the connection went away.
    let over = false;
    const release = (): void => {
      if (over) return;
      over = true;
      this.#state = { kind: 'idle' };
      this.#log.info({ durationMs: Date.now() - started, shellExited: session.shellExited }, 'debug console session closed');
    };
    session.once('end', release);
    session.once('close', release);
    return session;
  }

  /** Hangs up an open session (the sandbox stops). */
  close(): void {
    if (this.#state.kind === 'open') this.#state.session.destroy();
  }
}
