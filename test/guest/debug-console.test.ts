// The agent's debug console on a fake virtio-serial port, with the host's real busybox
// telnetd and /bin/sh: a shell per session, its output framed after the ready line, an exit
// frame when it ends, and a hang-up when the host goes away.
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleReplyDecoder, encodeOpen, type ConsoleFrame } from '../../src/agent/debug-console-protocol.js';
import { serveDebugConsole } from '../../src/guest/debug-console.js';
import type { SerialChannel } from '../../src/guest/serial-channel.js';
import { createLogger } from '../../src/log/logger.js';
import { waitUntil } from '../support/wait.js';
import { processAlive } from '../support/processes.js';
import { FakePort } from './fake-port.js';

const log = createLogger({ level: 'silent' });
const NONCE_A = 'aaaaaaaaaaaaaaaa';
const NONCE_B = 'bbbbbbbbbbbbbbbb';
const open = (nonce: string, rows = 0, cols = 0): Buffer => encodeOpen({ nonce, rows, cols, term: 'vt100' });

/** What the host would show for one session: the output after its ready line, and whether it ended. */
function session(port: FakePort, nonce: string): { text: string; exited: boolean } {
  const frames: ConsoleFrame[] = new ConsoleReplyDecoder(nonce).push(port.output);
  return {
    text: Buffer.concat(frames.flatMap((f) => (f.type === 'output' ? [f.data] : []))).toString(),
    exited: frames.some((f) => f.type === 'exit'),
  };
}

describe('guest debug console', () => {
  let channel: SerialChannel | undefined;
  afterEach(async () => {
    await channel?.close();
  });
  const serve = (port: FakePort): void => {
    channel = serveDebugConsole(port, { telnetd: ['busybox', 'telnetd'], shell: '/bin/sh', log }, 1);
  };

  it('runs what the host types in a shell on a terminal, then sends an exit frame', async () => {
    const port = new FakePort();
    serve(port);
    port.hostSends(Buffer.concat([open(NONCE_A, 33, 101), Buffer.from('echo out-$((40+2)); stty size; [ -t 0 ] && echo tty; exit\n')]));
    await waitUntil(() => session(port, NONCE_A).exited, { what: 'the exit frame', timeoutMs: 10_000 });
    const { text } = session(port, NONCE_A);
    expect(text).toContain('out-42\r\n');
    expect(text).toContain('33 101\r\n'); // the size from the open line, sent as NAWS
    expect(text).toContain('tty\r\n');
  });

  it('ignores bytes before an open line and a malformed open line: no shell, no ready line', async () => {
    const port = new FakePort();
    serve(port);
    port.hostSends('echo should-not-run\nKATA_DEBUG_CONSOLE_OPEN nonce=nothex\necho nor-this\n');
    port.hostSends(Buffer.concat([open(NONCE_A), Buffer.from('echo ran-$((1+1)); exit\n')]));
    await waitUntil(() => session(port, NONCE_A).exited, { what: 'the exit frame', timeoutMs: 10_000 });
    const { text } = session(port, NONCE_A);
    expect(text).toContain('ran-2');
    expect(text).not.toContain('should-not-run\r\n');
    expect(port.output.toString()).not.toContain('nor-this');
  });

  it('hangs up the shell when the host disconnects, and serves the next host a new one', async () => {
    const port = new FakePort();
    serve(port);
    port.hostSends(Buffer.concat([open(NONCE_A), Buffer.from('echo pid=$$; sleep 1000\n')]));
    await waitUntil(() => /pid=\d+\r\n/.test(session(port, NONCE_A).text), { what: 'the shell pid', timeoutMs: 10_000 });
    const pid = Number(/pid=(\d+)\r\n/.exec(session(port, NONCE_A).text)![1]);
    expect(processAlive(pid)).toBe(true);
    port.hostSends('disconnect');
    await waitUntil(() => !processAlive(pid), { what: `shell ${pid} to end`, timeoutMs: 10_000 });
    expect(session(port, NONCE_A).exited).toBe(false);

    port.hostSends(Buffer.concat([open(NONCE_B), Buffer.from('echo second; exit\n')]));
    await waitUntil(() => session(port, NONCE_B).exited, { what: 'the second session to end', timeoutMs: 10_000 });
    expect(session(port, NONCE_B).text).toContain('second\r\n');
  });

  it('starts a new shell for an open line that follows an ended one in the same connection', async () => {
    const port = new FakePort();
    serve(port);
    port.hostSends(Buffer.concat([open(NONCE_A), Buffer.from('exit\n')]));
    await waitUntil(() => session(port, NONCE_A).exited, { what: 'the first shell to end', timeoutMs: 10_000 });
    port.hostSends(Buffer.concat([Buffer.from('\x04'), open(NONCE_B), Buffer.from('echo again; exit\n')]));
    await waitUntil(() => session(port, NONCE_B).exited, { what: 'the second shell to end', timeoutMs: 10_000 });
    expect(session(port, NONCE_B).text).toContain('again\r\n');
  });
});
