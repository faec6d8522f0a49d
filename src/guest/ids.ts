// Container and exec ids name directories under the agent's state dir and runc
// containers, so they are checked once at the RPC edge and carried as branded strings.
import { invalidArgument } from '../errors/index.js';

export type ContainerId = string & { readonly __brand: 'ContainerId' };
export type ExecId = string & { readonly __brand: 'ExecId' };

// runc accepts ^[\w+-\.]+$; a leading dot would allow "." and "..".
const ID = /^[A-Za-z0-9_+-][A-Za-z0-9_+.-]{0,127}$/;

export function toContainerId(raw: string): ContainerId {
  if (!ID.test(raw)) throw invalidArgument(`invalid container id ${JSON.stringify(raw)}: use letters, digits, _ + - . (not leading .)`);
  return raw as ContainerId;
}

export function toExecId(raw: string): ExecId {
  if (!ID.test(raw)) throw invalidArgument(`invalid exec id ${JSON.stringify(raw)}: use letters, digits, _ + - . (not leading .)`);
  return raw as ExecId;
}
