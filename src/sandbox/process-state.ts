// A process's lifecycle as containerd sees it (created → running ⇄ paused → stopped →
// deleted). Each state allows a fixed set of operations, as in containerd's runc shim;
// everything else is refused with the error containerd expects.
import { Code, RuntimeError } from '../errors/index.js';

export type ProcessState =
  | { readonly kind: 'created' }
  | { readonly kind: 'running' }
  | { readonly kind: 'paused' }
  | { readonly kind: 'stopped'; readonly exitStatus: number; readonly exitedAt: Date }
  | { readonly kind: 'deleted'; readonly exitStatus: number; readonly exitedAt: Date };

export type ProcessOp = 'start' | 'kill' | 'pause' | 'resume' | 'delete' | 'exec' | 'update' | 'resize' | 'closeIO' | 'stats';

const ALLOWED: Readonly<Record<ProcessState['kind'], readonly ProcessOp[]>> = {
  created: ['start', 'kill', 'delete', 'resize', 'closeIO', 'update'],
  running: ['kill', 'pause', 'exec', 'update', 'resize', 'closeIO', 'stats'],
  paused: ['kill', 'resume', 'update', 'stats'],
  stopped: ['kill', 'delete', 'closeIO'],
  deleted: [],
};

/** Throws the error containerd expects when `op` is not allowed in `state`. */
export function checkAllowed(what: string, state: ProcessState, op: ProcessOp): void {
  if (ALLOWED[state.kind].includes(op)) return;
  if (state.kind === 'deleted') throw new RuntimeError(Code.NOT_FOUND, `${what}: not found`);
  const verb = op === 'delete' ? 'delete' : op;
  throw new RuntimeError(Code.FAILED_PRECONDITION, `${what}: cannot ${verb} a ${state.kind} process`);
}

export function transition(what: string, state: ProcessState, op: 'start' | 'pause' | 'resume' | 'delete'): ProcessState {
  checkAllowed(what, state, op);
  switch (op) {
    case 'start':
      return { kind: 'running' };
    case 'pause':
      return { kind: 'paused' };
    case 'resume':
      return { kind: 'running' };
    case 'delete':
      // A process deleted before it ran reports what containerd's runc shim reports.
      return state.kind === 'stopped' ? { ...state, kind: 'deleted' } : { kind: 'deleted', exitStatus: 0, exitedAt: new Date() };
  }
}

/** The process ended; idempotent, the first exit wins. */
export function exited(state: ProcessState, exitStatus: number, at = new Date()): ProcessState {
  return state.kind === 'stopped' || state.kind === 'deleted' ? state : { kind: 'stopped', exitStatus, exitedAt: at };
}

/** containerd.v1.types.Status numbers. */
export function statusNumber(state: ProcessState): number {
  switch (state.kind) {
    case 'created':
      return 1;
    case 'running':
      return 2;
    case 'stopped':
    case 'deleted':
      return 3;
    case 'paused':
      return 4;
  }
}
