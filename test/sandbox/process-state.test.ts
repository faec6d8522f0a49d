import { describe, it, expect } from 'vitest';
import { checkAllowed, exited, statusNumber, transition, type ProcessState } from '../../src/sandbox/process-state.js';
import { Code, RuntimeError } from '../../src/errors/index.js';

const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (e) {
    return (e as RuntimeError).code;
  }
  return undefined;
};

describe('process state machine', () => {
  const created: ProcessState = { kind: 'created' };

  it('walks created → running → paused → running → stopped → deleted', () => {
    let s = transition('c1', created, 'start');
    expect(s.kind).toBe('running');
    s = transition('c1', s, 'pause');
    expect(statusNumber(s)).toBe(4);
    s = transition('c1', s, 'resume');
    s = exited(s, 3, new Date(1000));
    expect(s).toEqual({ kind: 'stopped', exitStatus: 3, exitedAt: new Date(1000) });
    s = transition('c1', s, 'delete');
    expect(s).toMatchObject({ kind: 'deleted', exitStatus: 3 });
  });

  it('refuses to delete a running or paused process with FAILED_PRECONDITION', () => {
    expect(codeOf(() => checkAllowed('c1', { kind: 'running' }, 'delete'))).toBe(Code.FAILED_PRECONDITION);
    expect(codeOf(() => checkAllowed('c1', { kind: 'paused' }, 'delete'))).toBe(Code.FAILED_PRECONDITION);
  });

  it('answers NOT_FOUND for anything on a deleted process', () => {
    const d = transition('c1', created, 'delete');
    for (const op of ['start', 'kill', 'delete', 'exec'] as const) expect(codeOf(() => checkAllowed('c1', d, op))).toBe(Code.NOT_FOUND);
  });

  it('does not start twice, pause a created process or resume a running one', () => {
    expect(codeOf(() => transition('c1', { kind: 'running' }, 'start'))).toBe(Code.FAILED_PRECONDITION);
    expect(codeOf(() => transition('c1', created, 'pause'))).toBe(Code.FAILED_PRECONDITION);
    expect(codeOf(() => transition('c1', { kind: 'running' }, 'resume'))).toBe(Code.FAILED_PRECONDITION);
  });

  it('keeps the first exit', () => {
    const s = exited(exited({ kind: 'running' }, 1), 2);
    expect(s).toMatchObject({ kind: 'stopped', exitStatus: 1 });
  });

  it('maps states to containerd status numbers', () => {
    expect([created, { kind: 'running' } as const].map(statusNumber)).toEqual([1, 2]);
    expect(statusNumber(exited({ kind: 'running' }, 0))).toBe(3);
  });
});
