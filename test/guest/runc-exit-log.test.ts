import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExitLine, watchExitLog } from '../../src/guest/runc-exit-log.js';

// A line as runc 1.1.5 --debug --log-format json writes it.
const exitLine = (pid: number, status: number): string =>
  JSON.stringify({ file: 'github.com/opencontainers/runc/signals.go:92', func: 'main.(*signalHandler).forward', level: 'debug', msg: 'process exited', pid, status, time: 'x' });

describe('exit status from runc\'s debug log', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses only the exit line of the given pid', () => {
    expect(parseExitLine(exitLine(42, 137), 42)).toBe(137);
    expect(parseExitLine(exitLine(43, 1), 42)).toBeUndefined();
    expect(parseExitLine('{"level":"debug","msg":"child process in init()"}', 42)).toBeUndefined();
    expect(parseExitLine('process exited, not JSON', 42)).toBeUndefined();
  });

  it('sees a line already written and one appended later (split across writes)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'exit-log-'));
    const early = join(dir, 'early.log');
    writeFileSync(early, `{"level":"debug","msg":"x"}\n${exitLine(7, 3)}\n`);
    expect(await watchExitLog(early, 7).status).toBe(3);

    const late = join(dir, 'late.log');
    writeFileSync(late, '{"level":"debug","msg":"setns_init: about to exec"}\n');
    const w = watchExitLog(late, 9);
    const line = exitLine(9, 0);
    setTimeout(() => appendFileSync(late, line.slice(0, 20)), 20);
    setTimeout(() => appendFileSync(late, `${line.slice(20)}\n`), 60);
    expect(await w.status).toBe(0);
  });
});
