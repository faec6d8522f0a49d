// Our logger writes the lines pino would: the same fields in the same order, levels as
// names, errors through pino's standard serializer. pino itself (a test dependency) is
// the reference, given the same calls; only `time` differs.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/log/logger.js';

type Line = Record<string, unknown>;

function pair(level: 'info' | 'debug' = 'info', base: Record<string, unknown> = { name: 'x' }): { ours: Logger; ref: Logger; lines: () => [Line[], Line[]] } {
  const a: string[] = [];
  const b: string[] = [];
  const ours = createLogger({ level, base, destination: { write: (s) => void a.push(s) } });
  const ref = pino(
    { level, base: { pid: process.pid, ...base }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    { write: (s: string) => void b.push(s) },
  ) as unknown as Logger;
  const parse = (xs: string[]): Line[] => xs.map((s) => {
    expect(s.endsWith('}\n')).toBe(true);
    const { time, ...rest } = JSON.parse(s) as Line;
    expect(typeof time === 'string' && !Number.isNaN(Date.parse(time))).toBe(true);
    return rest;
  });
  return { ours, ref, lines: () => [parse(a), parse(b)] };
}

const keysOf = (ls: Line[]): string[][] => ls.map((l) => Object.keys(l));

describe('logger: pino\'s line format without pino', () => {
  it('fields, message and child bindings, in pino\'s order', () => {
    const { ours, ref, lines } = pair();
    for (const log of [ours, ref]) {
      log.info('plain');
      log.warn({ a: 1, nested: { b: [1, 'two'] } }, 'with fields');
      log.error({ only: true });
      log.child({ sandbox: 's1' }).child({ container: 'c1' }).info({ n: 2 }, 'from a child');
      log.debug('not shown at info');
    }
    const [a, b] = lines();
    expect(a).toEqual(b);
    expect(keysOf(a)).toEqual(keysOf(b));
    expect(a).toHaveLength(4);
  });

  it('errors as pino serializes them: under err, with causes, code and the message', () => {
    const { ours, ref, lines } = pair();
    const cause = new Error('disk full');
    const err = Object.assign(new TypeError('cannot write', { cause }), { code: 'ENOSPC' });
    for (const log of [ours, ref]) {
      log.error({ err }, 'write failed');
      log.error(err);
    }
    const [a, b] = lines();
    expect(a).toEqual(b);
    expect(a[0]!.err).toMatchObject({ type: 'TypeError', message: 'cannot write: disk full', code: 'ENOSPC' });
  });

  it('levels: silent, a level set later, a child that follows its parent or has its own', () => {
    const lines: Line[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (s) => void lines.push(JSON.parse(s) as Line) } });
    const child = log.child({ c: 1 });
    const own = log.child({ c: 2 }, { level: 'debug' });
    child.info('dropped');
    own.debug('kept: its own level');
    log.level = 'debug';
    child.debug('kept: follows the parent');
    expect(log.isLevelEnabled('debug')).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual(['kept: its own level', 'kept: follows the parent']);
    expect(createLogger({ level: 'silent', destination: { write: () => expect.fail('silent wrote') } }).isLevelEnabled('fatal')).toBe(false);
    expect(() => (log.level = 'loud')).toThrow(/unknown log level "loud"/);
  });

  it('never throws on what it is given: circular objects and bigints', () => {
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (s) => void lines.push(s) } });
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    log.info({ loop, big: 10n }, 'odd values');
    expect(JSON.parse(lines[0]!)).toMatchObject({ loop: { name: 'loop', self: '[Circular]' }, big: '10', msg: 'odd values' });
  });
});
