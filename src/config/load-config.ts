// The thin I/O shell around parseConfig: find the file, read it, gather host facts.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { toRuntimeError } from '../errors/index.js';
import { ConfigError } from './config-error.js';
import { resolveConfigPath } from './config-path.js';
import { readHostFacts } from './host-facts.js';
import { parseConfig } from './parse-config.js';
import type { HostFacts, KataConfig } from './types.js';

export interface LoadConfigOptions {
  /** Explicit file (CLI flag, config_path annotation or runtime option); wins over everything. */
  readonly path?: string | undefined;
  /** Defaults to process.env; only KATA_CONF_FILE is read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly defaultPaths?: readonly string[];
  /** Defaults to the real host's facts. */
  readonly host?: HostFacts;
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<KataConfig> {
  // Absolute, so messages and `env` name the file unambiguously (Kata resolves it too).
  const source = resolve(
    resolveConfigPath({
      explicit: opts.path,
      env: opts.env ?? process.env,
      ...(opts.defaultPaths ? { defaultPaths: opts.defaultPaths } : {}),
      exists: existsSync,
    }),
  );
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    const e = toRuntimeError(err);
    throw new ConfigError(`${source}: cannot read configuration file: ${e.message}`, { file: source }, e.code, err);
  }
  return parseConfig(text, source, opts.host ?? (await readHostFacts()));
}
