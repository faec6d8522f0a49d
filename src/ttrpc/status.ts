// The one error vocabulary of the project: gRPC status codes carried by ttrpc.
// Every layer throws RpcError; each RPC boundary maps it onto the wire once.

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

export class RpcError extends Error {
  override readonly name = 'RpcError';
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

export const notFound = (msg: string): RpcError => new RpcError(Code.NOT_FOUND, msg);
export const alreadyExists = (msg: string): RpcError => new RpcError(Code.ALREADY_EXISTS, msg);
export const invalidArgument = (msg: string): RpcError => new RpcError(Code.INVALID_ARGUMENT, msg);
export const failedPrecondition = (msg: string): RpcError => new RpcError(Code.FAILED_PRECONDITION, msg);
export const unimplemented = (msg: string): RpcError => new RpcError(Code.UNIMPLEMENTED, msg);
export const unavailable = (msg: string): RpcError => new RpcError(Code.UNAVAILABLE, msg);
export const deadlineExceeded = (msg: string): RpcError => new RpcError(Code.DEADLINE_EXCEEDED, msg);
export const internal = (msg: string, cause?: unknown): RpcError => new RpcError(Code.INTERNAL, msg, { cause });

/** Converts anything thrown into an RpcError; Node system errors map like Go's ttrpc convertCode. */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const message = e?.message ?? String(err);
  switch (e?.name === 'AbortError' ? 'ABORT' : e?.code) {
    case 'ABORT':
      return new RpcError(Code.CANCELLED, message, { cause: err });
    case 'ENOENT':
      return new RpcError(Code.NOT_FOUND, message, { cause: err });
    case 'EEXIST':
      return new RpcError(Code.ALREADY_EXISTS, message, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new RpcError(Code.PERMISSION_DENIED, message, { cause: err });
    case 'EINVAL':
      return new RpcError(Code.INVALID_ARGUMENT, message, { cause: err });
    default:
      return new RpcError(Code.UNKNOWN, message, { cause: err });
  }
}
