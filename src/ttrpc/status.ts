// The wire side of the error vocabulary: what a ttrpc Status carries for an error thrown
// by a handler, and the error a received Status stands for.
import { Code, RuntimeError, toRuntimeError } from '../errors/index.js';

export interface WireStatus {
  readonly code: number;
  readonly message: string;
}

/** The Status a thrown value is answered with; codes outside the vocabulary become UNKNOWN. */
export function statusOf(err: unknown): WireStatus {
  const e = toRuntimeError(err);
  return { code: Code[e.code] === undefined ? Code.UNKNOWN : e.code, message: e.message };
}

/** The error a peer's non-OK Status stands for. */
export function errorOfStatus(code: number, message: string): RuntimeError {
  return new RuntimeError(Code[code] === undefined ? Code.UNKNOWN : (code as Code), message);
}
