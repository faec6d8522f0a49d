// The one error vocabulary of the project. The codes are the canonical status codes that
// containerd, Kata and gRPC share; every layer throws RuntimeError, and each RPC edge
// (src/ttrpc/status.ts) maps it onto the wire once.

export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The code's canonical name, e.g. NOT_FOUND. */
  get codeName(): string {
    return Code[this.code] ?? `CODE_${this.code}`;
  }
}

export const notFound = (msg: string): RuntimeError => new RuntimeError(Code.NOT_FOUND, msg);
export const alreadyExists = (msg: string): RuntimeError => new RuntimeError(Code.ALREADY_EXISTS, msg);
export const invalidArgument = (msg: string): RuntimeError => new RuntimeError(Code.INVALID_ARGUMENT, msg);
export const failedPrecondition = (msg: string): RuntimeError => new RuntimeError(Code.FAILED_PRECONDITION, msg);
export const unimplemented = (msg: string): RuntimeError => new RuntimeError(Code.UNIMPLEMENTED, msg);
export const unavailable = (msg: string): RuntimeError => new RuntimeError(Code.UNAVAILABLE, msg);
export const deadlineExceeded = (msg: string): RuntimeError => new RuntimeError(Code.DEADLINE_EXCEEDED, msg);
export const internal = (msg: string, cause?: unknown): RuntimeError => new RuntimeError(Code.INTERNAL, msg, { cause });

/** Converts anything thrown into an RuntimeError; Node system errors map like Go's ttrpc convertCode. */
export function toRuntimeError(err: unknown): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const message = e?.message ?? String(err);
  switch (e?.name === 'AbortError' ? 'ABORT' : e?.code) {
    case 'ABORT':
      return new RuntimeError(Code.CANCELLED, message, { cause: err });
    case 'ENOENT':
      return new RuntimeError(Code.NOT_FOUND, message, { cause: err });
    case 'EEXIST':
      return new RuntimeError(Code.ALREADY_EXISTS, message, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new RuntimeError(Code.PERMISSION_DENIED, message, { cause: err });
    case 'EINVAL':
      return new RuntimeError(Code.INVALID_ARGUMENT, message, { cause: err });
    default:
      return new RuntimeError(Code.UNKNOWN, message, { cause: err });
  }
}
