// The virtio-serial session logic over a fake port: a 0-byte read means "no host", the
// session ends, and the next bytes on the same port start a new ttrpc connection.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { findVirtioPort, servePort } from '../../src/guest/serial-channel.js';
import { FakePort } from './fake-port.js';
import { createLogger } from '../../src/log/logger.js';

const collect = (s: Duplex): Promise<string> =>
  new Promise((resolve) => {
    let text = '';
    s.on('data', (b: Buffer) => (text += b.toString()));
    s.on('end', () => resolve(text));
  });

describe('virtio-serial channel', () => {
  it('finds the port device by its name in sysfs', async () => {
    const sys = mkdtempSync(join(tmpdir(), 'fake-sys-'));
    try {
      for (const [dev, name] of [['vport0p0', 'other'], ['vport1p1', 'agent.channel.0']]) {
        mkdirSync(join(sys, 'class/virtio-ports', dev as string), { recursive: true });
        writeFileSync(join(sys, 'class/virtio-ports', dev as string, 'name'), `${name}\n`);
      }
      expect(await findVirtioPort('agent.channel.0', sys, '/dev')).toBe('/dev/vport1p1');
      expect(await findVirtioPort('missing', sys)).toBeUndefined();
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });

  it('serves one session per host connection on the same port', async () => {
    const port = new FakePort();
    const sessions: Duplex[] = [];
    const texts: Promise<string>[] = [];
    const channel = servePort(port, (s) => {
      sessions.push(s);
      texts.push(collect(s));
      s.write(`reply${sessions.length}`);
    }, createLogger({ level: 'silent' }), 1);
    port.hostSends('hello ');
    port.hostSends('world');
    port.hostSends('disconnect');
    await new Promise((r) => setTimeout(r, 20));
    port.hostSends('again');
    port.hostSends('disconnect');
    await new Promise((r) => setTimeout(r, 20));
    expect(sessions).toHaveLength(2);
    expect(await Promise.all(texts)).toEqual(['hello world', 'again']);
    expect(Buffer.concat(port.written).toString()).toBe('reply1reply2');
    await channel.close();
  });
});
