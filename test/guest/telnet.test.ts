import { describe, expect, it } from 'vitest';
import { PreambleStripper, TelnetDecoder, encodeInput, nawsFrame } from '../../src/guest/telnet.js';
import { READY_MARKER, wrapperScript } from '../../src/guest/tty-session.js';

describe('telnet codec', () => {
  it('doubles IAC and sends CR as CR NUL', () => {
    expect([...encodeInput(Buffer.from([1, 255, 13, 10]))]).toEqual([1, 255, 255, 13, 0, 10]);
    expect(encodeInput(Buffer.from('plain')).toString()).toBe('plain');
  });

  it('frames a window size as NAWS (columns first)', () => {
    expect([...nawsFrame(40, 300)]).toEqual([255, 250, 31, 1, 44, 0, 40, 255, 240]);
  });

  it('drops negotiation and subnegotiation, keeps data, undoubles IAC, across chunk boundaries', () => {
    const d = new TelnetDecoder();
    const wire = Buffer.from([255, 253, 1, 255, 251, 3, 65, 255, 255, 66, 255, 250, 31, 0, 80, 0, 24, 255, 240, 67, 255, 241, 68]);
    const out: number[] = [];
    for (let i = 0; i < wire.length; i += 2) out.push(...d.decode(wire.subarray(i, i + 2)));
    expect(out).toEqual([65, 255, 66, 67, 68]);
  });

  it('strips everything up to the ready marker line', () => {
    const s = new PreambleStripper(READY_MARKER);
    expect(s.strip(Buffer.from('\r\r\nKATA-AGENT-'))).toHaveLength(0);
    expect(s.strip(Buffer.from('TTY-READY\nhello'))).toEqual(Buffer.from('hello'));
    expect(s.strip(Buffer.from(READY_MARKER))).toEqual(Buffer.from(READY_MARKER));
  });

  it('quotes the command in the wrapper script and records its status', () => {
    const script = wrapperScript({ file: 'runc', args: ['--root', "/tmp/it's", 'exec'] }, '/s/tty.status');
    expect(script).toContain(`'runc' '--root' '/tmp/it'\\''s' 'exec'`);
    expect(script).toContain(`echo $? > '/s/tty.status'`);
    expect(script.indexOf('stty raw -echo')).toBeLessThan(script.indexOf(READY_MARKER));
  });
});
