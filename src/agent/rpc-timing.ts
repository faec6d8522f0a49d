// How long each agent RPC took, for kata_shim_agent_rpc_durations_histogram_milliseconds.
// Kata's runtime labels the observation with the request's message name
// ("grpc.CreateContainerRequest") and times every request it sends, except the stdout and
// stderr reads, which are streams in all but name.
import type { CallOptions, ServiceClient, ServiceDef } from '../ttrpc/index.js';
import type { AgentRpcObserver } from './agent.js';

const UNTIMED: ReadonlySet<string> = new Set(['ReadStdout', 'ReadStderr']);

/** The request's full proto name, e.g. `grpc.CreateContainerRequest`. */
function requestName(type: unknown, fallback: string): string {
  const url = (type as { getTypeUrl?(prefix: string): string }).getTypeUrl?.('');
  return url ? url.slice(url.lastIndexOf('/') + 1) : fallback;
}

/** `stub` with every unary call reported to `observe` when it settles, failed or not. */
export function timedClient<S extends ServiceDef>(stub: ServiceClient<S>, def: S, observe: AgentRpcObserver | undefined): ServiceClient<S> {
  if (!observe) return stub;
  const out: Record<string, unknown> = { ...stub };
  for (const [name, m] of Object.entries(def.methods)) {
    if (m.requestStream || m.responseStream || UNTIMED.has(name)) continue;
    const action = requestName(m.requestType, `${def.name}.${name}`);
    const call = (stub as Record<string, (req: unknown, opts?: CallOptions) => Promise<unknown>>)[name]!;
    out[name] = async (req: unknown, opts?: CallOptions) => {
      const t0 = performance.now();
      try {
        return await call(req, opts);
      } finally {
        observe(action, performance.now() - t0);
      }
    };
  }
  return out as ServiceClient<S>;
}
