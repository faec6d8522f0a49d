// kata-runtime's command line: global options (anywhere), one command, its options.
// Pure; unknown input becomes a usage error that names the offending word.

/** Commands and the options each accepts. */
export const COMMANDS = {
  check: { aliases: ['kata-check'], flags: [] as readonly string[], summary: 'tell whether a sandbox can start on this host' },
  env: { aliases: ['kata-env'], flags: ['--json'] as readonly string[], summary: 'show the configuration and host facts (TOML, or JSON with --json)' },
  version: { aliases: [], flags: [] as readonly string[], summary: 'show the version' },
  'sandbox-sizing': { aliases: [], flags: ['--json'] as readonly string[], summary: 'explain why a running sandbox VM has its vCPUs and memory (argument: sandbox id)' },
  exec: { aliases: [], flags: [] as readonly string[], summary: 'open a shell in a sandbox VM through its debug console (argument: sandbox id; needs debug_console_enabled)' },
  help: { aliases: ['h'], flags: [] as readonly string[], summary: 'show this help' },
} as const;

export type CommandName = keyof typeof COMMANDS;

export type ParsedArgs =
  | { readonly kind: 'usage-error'; readonly message: string }
  | { readonly kind: 'show-config-paths' }
  | {
      readonly kind: 'command';
      readonly command: CommandName;
      readonly configPath: string | undefined;
      readonly logPath: string | undefined;
      readonly flags: ReadonlySet<string>;
      /** The one argument of commands that take one (sandbox-sizing's and exec's sandbox id). */
      readonly argument?: string;
    };

const VALUE_OPTIONS: Readonly<Record<string, 'config' | 'log'>> = {
  '--kata-config': 'config',
  '--config': 'config',
  '--log': 'log',
};

function commandNamed(word: string): CommandName | undefined {
  for (const [name, spec] of Object.entries(COMMANDS)) {
    if (name === word || (spec.aliases as readonly string[]).includes(word)) return name as CommandName;
  }
  return undefined;
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const values: { config?: string; log?: string } = {};
  const flags = new Set<string>();
  let command: CommandName | undefined;
  let showPaths = false;
  let argument: string | undefined;
  const usage = (message: string): ParsedArgs => ({ kind: 'usage-error', message });

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const slot = VALUE_OPTIONS[name];
    if (slot !== undefined) {
      const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') return usage(`option ${name} needs a value`);
      values[slot] = value;
    } else if (arg === '--kata-show-default-config-paths' || arg === '--show-default-config-paths') {
      showPaths = true;
    } else if ((arg === '--version' || arg === '-v') && command === undefined) {
      command = 'version';
    } else if (arg === '--help' || arg === '-h') {
      command = 'help';
    } else if (arg.startsWith('-')) {
      if (command === undefined || !(COMMANDS[command].flags as readonly string[]).includes(arg)) {
        return usage(`unknown option ${arg}${command ? ` for command ${command}` : ''}`);
      }
      flags.add(arg);
    } else if (command === undefined) {
      command = commandNamed(arg);
      if (command === undefined) return usage(`unknown command ${JSON.stringify(arg)}`);
    } else if ((command === 'sandbox-sizing' || command === 'exec') && argument === undefined) {
      argument = arg;
    } else {
      return usage(`unexpected argument ${JSON.stringify(arg)} for command ${command}`);
    }
  }
  // Kata prints the paths and exits before looking at any command.
  if (showPaths) return { kind: 'show-config-paths' };
  if ((command === 'sandbox-sizing' || command === 'exec') && argument === undefined) return usage(`${command} needs a sandbox id`);
  return { kind: 'command', command: command ?? 'help', configPath: values.config, logPath: values.log, flags, ...(argument ? { argument } : {}) };
}
