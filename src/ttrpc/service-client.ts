// Typed client stubs: serviceClient(client, def).Method(req, opts) with types from the descriptor.
import type { CallOptions } from './call-options.js';
import type { TtrpcClient } from './client.js';
import type { ClientDuplexStream, ClientReadableStream, ClientWritableStream } from './client-stream.js';
import { methodKind, type MethodDef, type RequestProps, type ResponseOf, type ServiceDef } from './service.js';

export type ClientMethod<M extends MethodDef> = M['requestStream'] extends true
  ? M['responseStream'] extends true
    ? (opts?: CallOptions) => ClientDuplexStream<RequestProps<M>, ResponseOf<M>>
    : (opts?: CallOptions) => ClientWritableStream<RequestProps<M>, ResponseOf<M>>
  : M['responseStream'] extends true
    ? (request: RequestProps<M>, opts?: CallOptions) => ClientReadableStream<ResponseOf<M>>
    : (request: RequestProps<M>, opts?: CallOptions) => Promise<ResponseOf<M>>;

export type ServiceClient<S extends ServiceDef> = { readonly [K in keyof S['methods']]: ClientMethod<S['methods'][K]> };

export function serviceClient<S extends ServiceDef>(client: TtrpcClient, def: S): ServiceClient<S> {
  const stub: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(def.methods)) {
    switch (methodKind(method)) {
      case 'unary':
        stub[name] = (request: unknown, opts?: CallOptions) => client.call(def, name, request as never, opts);
        break;
      case 'serverStream':
        stub[name] = (request: unknown, opts?: CallOptions) => client.openStream(def, name, request as never, opts);
        break;
      default:
        stub[name] = (opts?: CallOptions) => client.openStream(def, name, undefined, opts);
    }
  }
  return stub as ServiceClient<S>;
}
