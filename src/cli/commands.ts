// The commands that need a configuration: load it once, then report.
import { stringify } from 'smol-toml';
import type { KataConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { CommandName } from './args.js';
import { runChecks, sandboxCanStart, type CheckStatus } from './checks.js';
import type { CliIo } from './cli-io.js';
import { buildEnvInfo } from './env-info.js';
import { RUNTIME_VERSION } from './version.js';

export interface CommandContext {
  readonly io: CliIo;
  readonly config: KataConfig;
  readonly flags: ReadonlySet<string>;
  readonly log: Logger | undefined;
}

export type ConfigCommand = (ctx: CommandContext) => Promise<number>;

const LABEL: Readonly<Record<CheckStatus, string>> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

async function check({ io, config, log }: CommandContext): Promise<number> {
  const results = await runChecks(config, io.probes);
  for (const r of results) io.stdout(`${LABEL[r.status]} ${r.name}: ${r.detail}\n`);
  const failed = results.filter((r) => r.status === 'fail');
  if (sandboxCanStart(results)) {
    io.stdout(`kata-runtime: a sandbox can start with ${config.source}\n`);
    return 0;
  }
  log?.error({ failed }, 'check failed');
  io.stdout(`kata-runtime: a sandbox cannot start: ${failed.length} check(s) failed\n`);
  return 1;
}

async function env({ io, config, flags }: CommandContext): Promise<number> {
  const probes = io.probes;
  const [host, kvm, vhostVsock, version] = await Promise.all([
    probes.host(),
    probes.kvm(),
    probes.vhostVsock(),
    probes.commandVersion(config.hypervisor.path),
  ]);
  const info = buildEnvInfo({
    config,
    host,
    kvm,
    vhostVsock,
    hypervisorVersion: version.ok ? version.version : 'unknown',
    runtimePath: io.runtimePath,
    runtimeVersion: RUNTIME_VERSION,
  });
  io.stdout(flags.has('--json') ? `${JSON.stringify(info, null, 2)}\n` : `${stringify(info)}\n`);
  return 0;
}

/** Commands that run against a loaded configuration. */
export const CONFIG_COMMANDS: Partial<Record<CommandName, ConfigCommand>> = { check, env };
