// The help text, generated from the command table so the two cannot drift.
import { COMMANDS } from './args.js';

export function usageText(): string {
  const commands = Object.entries(COMMANDS).map(([name, spec]) => {
    const aliases = spec.aliases.length ? ` (${spec.aliases.join(', ')})` : '';
    return `  ${`${name}${aliases}`.padEnd(22)} ${spec.summary}`;
  });
  return [
    'Usage: kata-runtime [global options] command [command options]',
    '',
    'Commands:',
    ...commands,
    '',
    'Global options:',
    '  --kata-config PATH, --config PATH     configuration file (else $KATA_CONF_FILE, else the default paths)',
    '  --kata-show-default-config-paths      print the configuration files looked for, in order',
    '  --log PATH                            append JSON log lines (configuration warnings, errors) to PATH',
    '  --version, -v                         print the version',
    '  --help, -h                            print this help',
  ].join('\n');
}
