// A virtio-serial port without a VM: the host's bytes and disconnections are scripted, and
// a read with no host connected returns 0 bytes, as virtio_console does.
import type { PortIo } from '../../src/guest/serial-channel.js';

export class FakePort implements PortIo {
  readonly written: Buffer[] = [];
  #incoming: (Buffer | 'disconnect')[] = [];
  #wake: (() => void) | undefined;
  connected = false;

  hostSends(data: string | Buffer | 'disconnect'): void {
    this.#incoming.push(data === 'disconnect' ? data : Buffer.from(data));
    this.#wake?.();
  }

  async read(buf: Buffer): Promise<number> {
    for (;;) {
      const next = this.#incoming.shift();
      if (next === 'disconnect') this.connected = false;
      else if (next) {
        this.connected = true;
        next.copy(buf);
        return next.length;
      }
      if (!this.connected) return 0; // like virtio_console with no host
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  async write(data: Buffer): Promise<void> {
    this.written.push(Buffer.from(data));
  }

  /** Everything the guest wrote so far. */
  get output(): Buffer {
    return Buffer.concat(this.written);
  }

  async close(): Promise<void> {
    this.connected = false;
    this.#wake?.();
  }
}
