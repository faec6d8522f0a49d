// Every task request the shim does not carry out is one log line, with the method, the
// container and exec, the code containerd gets and why. The caller's mistakes (unknown ids,
// a state that does not allow the call, unsupported options) are warnings; failures of the
// sandbox itself are errors. Every request's duration, carried out or not, goes to the
// caller's observer (the task RPC histogram of /metrics).
import { Code, toRuntimeError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TaskHandlers } from './shim-context.js';

const CALLER_CODES = new Set([
  Code.INVALID_ARGUMENT,
  Code.NOT_FOUND,
  Code.ALREADY_EXISTS,
  Code.PERMISSION_DENIED,
  Code.FAILED_PRECONDITION,
  Code.OUT_OF_RANGE,
  Code.UNIMPLEMENTED,
]);

type AnyHandler = (request: { id?: string; execId?: string } | undefined, ...rest: unknown[]) => unknown;

/** `method` (as in the service, "ResizePty") took `ms`, failed or not. */
export type RequestTimer = (method: string, ms: number) => void;

export function observeRequests(handlers: TaskHandlers, log: Logger, timed: RequestTimer): TaskHandlers {
  const wrapped: Record<string, AnyHandler> = {};
  for (const [method, handler] of Object.entries(handlers) as [string, AnyHandler][]) {
    wrapped[method] = async (request, ...rest) => {
      const t0 = performance.now();
      try {
        return await handler(request, ...rest);
      } catch (err) {
        const e = toRuntimeError(err);
        const fields = { method, container: request?.id || undefined, exec: request?.execId || undefined, code: e.codeName, err: e.message };
        if (CALLER_CODES.has(e.code)) log.warn(fields, 'request refused');
        else log.error(fields, 'request failed');
        throw err;
      } finally {
        timed(method, performance.now() - t0);
      }
    };
  }
  return wrapped as TaskHandlers;
}
