import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';

describe('parseArgs', () => {
  it('defaults to help with no arguments, like Kata', () => {
    expect(parseArgs([])).toMatchObject({ kind: 'command', command: 'help' });
  });

  it("accepts Kata's command aliases and option spellings", () => {
    expect(parseArgs(['kata-check'])).toMatchObject({ kind: 'command', command: 'check' });
    expect(parseArgs(['kata-env', '--json'])).toMatchObject({ command: 'env', flags: new Set(['--json']) });
    expect(parseArgs(['--show-default-config-paths'])).toEqual({ kind: 'show-config-paths' });
    expect(parseArgs(['--config=/x.toml', 'check'])).toMatchObject({ configPath: '/x.toml' });
    expect(parseArgs(['check', '--kata-config', '/y.toml'])).toMatchObject({ command: 'check', configPath: '/y.toml' });
    expect(parseArgs(['--log=/tmp/l', 'env'])).toMatchObject({ logPath: '/tmp/l' });
  });

  it('shows the config paths before looking at the command, as Kata does', () => {
    expect(parseArgs(['--kata-show-default-config-paths', 'check'])).toEqual({ kind: 'show-config-paths' });
  });

  it('takes exec\'s sandbox id, and asks for one', () => {
    expect(parseArgs(['exec', 'sb1'])).toMatchObject({ kind: 'command', command: 'exec', argument: 'sb1' });
    expect(parseArgs(['exec'])).toEqual({ kind: 'usage-error', message: 'exec needs a sandbox id' });
  });

  it('names what it does not understand', () => {
    expect(parseArgs(['--json', 'env'])).toEqual({ kind: 'usage-error', message: 'unknown option --json' });
    expect(parseArgs(['check', '-v'])).toEqual({ kind: 'usage-error', message: 'unknown option -v for command check' });
    expect(parseArgs(['sandbox-sizing', 'abc', 'def'])).toEqual({
      kind: 'usage-error',
      message: 'unexpected argument "def" for command sandbox-sizing',
    });
    expect(parseArgs(['no-such-command'])).toEqual({ kind: 'usage-error', message: 'unknown command "no-such-command"' });
    expect(parseArgs(['--kata-config='])).toEqual({ kind: 'usage-error', message: 'option --kata-config needs a value' });
  });
});
