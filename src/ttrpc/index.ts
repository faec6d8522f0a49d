// Public API of the ttrpc layer.
export { TtrpcServer, type ServerOptions } from './server.js';
export type { ServerConnection } from './server-connection.js';
export { TtrpcClient, connectUnix, type ClientOptions, type ConnectOptions } from './client.js';
export type { CallOptions } from './call-options.js';
export type { ClientDuplexStream, ClientReadableStream, ClientWritableStream } from './client-stream.js';
export { serviceClient, type ClientMethod, type ServiceClient } from './service-client.js';
export { Metadata, type MetadataInit } from './metadata.js';
export type {
  BidiStreamHandler,
  CallContext,
  ClientStreamHandler,
  HandlerFor,
  Handlers,
  MessageClass,
  MethodDef,
  RequestOf,
  RequestProps,
  ResponseOf,
  ResponseProps,
  ServerStreamHandler,
  ServiceDef,
  StreamReader,
  StreamWriter,
  UnaryHandler,
} from './service.js';
export { Flags, HEADER_LENGTH, MAX_MESSAGE, MessageType, type Frame, type FrameHeader } from './frame.js';
export { errorOfStatus, statusOf, type WireStatus } from './status.js';
