// kata-runtime entry: parse the command line, load the configuration when the command
// needs one, run the command. Returns the exit code: 0 success, 1 failure, 2 usage error.
import { loadConfig, type KataConfig } from '../config/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import { Code, RuntimeError, toRuntimeError } from '../errors/index.js';
import { execDebugConsole } from './exec.js';
import { parseArgs, type CommandName } from './args.js';
import { sandboxSizing } from './sandbox-sizing.js';
import type { CliIo } from './cli-io.js';
import { CONFIG_COMMANDS } from './commands.js';
import { usageText } from './usage.js';
import { versionText } from './version.js';

type SandboxCommand = (sandboxId: string, flags: ReadonlySet<string>, io: CliIo) => Promise<void>;

/** Commands that ask a running sandbox's shim, by id, without a configuration. */
const SANDBOX_COMMANDS: Partial<Record<CommandName, SandboxCommand>> = {
  'sandbox-sizing': (id, flags, io) => sandboxSizing(id, flags.has('--json'), io.stdout, io.sandboxStateRoot),
  exec: async (id, _flags, io) => {
    if (!io.terminal) throw new RuntimeError(Code.FAILED_PRECONDITION, 'exec needs a terminal or pipes on stdin and stdout');
    await execDebugConsole(id, io.terminal, io.sandboxStateRoot);
  },
};

/** `argv` excludes node and the script: process.argv.slice(2). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  if (args.kind === 'usage-error') {
    io.stderr(`kata-runtime: ${args.message}\nRun 'kata-runtime --help' for usage.\n`);
    return 2;
  }
  if (args.kind === 'show-config-paths') {
    io.stdout(io.defaultConfigPaths.map((p) => `${p}\n`).join(''));
    return 0;
  }
  if (args.command === 'help') {
    io.stdout(`${usageText()}\n`);
    return 0;
  }
  if (args.command === 'version') {
    io.stdout(`${versionText()}\n`);
    return 0;
  }
  const onSandbox = SANDBOX_COMMANDS[args.command];
  if (onSandbox) {
    try {
      await onSandbox(args.argument!, args.flags, io);
      return 0;
    } catch (err) {
      io.stderr(`kata-runtime: ${toRuntimeError(err).message}\n`);
      return 1;
    }
  }
  const run = CONFIG_COMMANDS[args.command];
  if (run === undefined) {
    io.stderr(`kata-runtime: command ${args.command} is not implemented\n`);
    return 2;
  }

  let log: Logger | undefined;
  try {
    // Inside the try: an unwritable --log path is reported like any other failure.
    log = args.logPath
      ? createLogger({ destination: args.logPath, base: { name: 'kata-runtime', command: args.command } })
      : undefined;
    const config = await load(args.configPath, io, log);
    return await run({ io, config, flags: args.flags, log });
  } catch (err) {
    const e = toRuntimeError(err);
    log?.error({ code: e.codeName, err: e.message }, 'kata-runtime failed');
    io.stderr(`kata-runtime: ${e.message}\n`);
    return 1;
  }
}

async function load(path: string | undefined, io: CliIo, log: Logger | undefined): Promise<KataConfig> {
  const { cpus, memoryMiB } = await io.probes.host();
  const config = await loadConfig({ path, env: io.env, defaultPaths: io.defaultConfigPaths, host: { cpus, memoryMiB } });
  log?.info({ file: config.source }, 'loaded configuration');
  for (const warning of config.warnings) log?.warn(warning);
  return config;
}
