// Where the agent listens: a unix socket (test mode on a host), vsock port 1024, or
// the virtio-serial port agent.channel.0. Every transport hands streams to one ttrpc server.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { TtrpcServer } from '../ttrpc/index.js';
import { AGENT_SERIAL_PORT, AGENT_VSOCK_PORT, type ListenAddress } from './args.js';
import { findVirtioPort, serveSerialPort } from './serial-channel.js';

export interface Listener {
  readonly description: string;
  close(): Promise<void>;
}

/**
 * auto: the serial port when the VM has one (the host chose it: QEMU adds it only for
 * a serial agent channel), else vsock. /dev/vsock alone proves nothing: it exists as
 * soon as the vsock module is loaded, with or without a virtio-vsock device.
 */
export async function resolveAuto(): Promise<Exclude<ListenAddress, { kind: 'auto' }>> {
  if (await findVirtioPort(AGENT_SERIAL_PORT)) return { kind: 'serial', name: AGENT_SERIAL_PORT };
  if (existsSync('/dev/vsock')) return { kind: 'vsock', port: AGENT_VSOCK_PORT };
  return { kind: 'serial', name: AGENT_SERIAL_PORT };
}

export async function listen(address: ListenAddress, server: TtrpcServer, log: Logger): Promise<Listener> {
  const addr = address.kind === 'auto' ? await resolveAuto() : address;
  const onConnection = (stream: Duplex): void => void server.handleConnection(stream);
  switch (addr.kind) {
    case 'unix': {
      await rm(addr.path, { force: true }); // a socket left by a previous run
      const net = await server.listen(addr.path);
      log.info({ path: addr.path }, 'listening on unix socket');
      return { description: `unix://${addr.path}`, close: () => new Promise((resolve) => net.close(() => resolve())) };
    }
    case 'vsock': {
      // Loaded only here: the native addon is needed for vsock alone.
      const { listenVsock } = await import('../agent/transport/vsock.js');
      const vsock = await listenVsock(addr.port, onConnection);
      vsock.on('error', (err: unknown) => log.error({ err }, 'vsock accept failed'));
      log.info({ port: addr.port }, 'listening on vsock');
      return { description: `vsock://-1:${addr.port}`, close: () => vsock.close() };
    }
    case 'serial': {
      const channel = await serveSerialPort(addr.name, onConnection, log);
      return { description: `serial://${addr.name}`, close: () => channel.close() };
    }
  }
}
