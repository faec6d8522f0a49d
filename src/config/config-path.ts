// Which configuration.toml to use (Kata's order): an explicit path (from the CLI, the
// io.katacontainers.config_path annotation or the runtime options' config_path, which the
// caller picks between), else $KATA_CONF_FILE, else the first default path that exists.
import { Code } from '../errors/index.js';
import { ConfigError } from './config-error.js';
import { CONFIG_ENV_VAR, DEFAULT_CONFIG_PATHS } from './defaults.js';

export interface ConfigPathLookup {
  readonly explicit?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly defaultPaths?: readonly string[];
  /** Injected so the order can be tested without touching /etc. */
  readonly exists: (path: string) => boolean;
}

export function resolveConfigPath(lookup: ConfigPathLookup): string {
  // A path someone asked for by name must exist: falling back would silently load another file.
  const named: [string, string | undefined][] = [
    ['explicit configuration path', lookup.explicit],
    [`${CONFIG_ENV_VAR}`, lookup.env?.[CONFIG_ENV_VAR]],
  ];
  for (const [what, path] of named) {
    if (path === undefined || path === '') continue;
    if (!lookup.exists(path)) {
      throw new ConfigError(`${path}: configuration file not found (given as ${what})`, { file: path }, Code.NOT_FOUND);
    }
    return path;
  }
  const defaults = lookup.defaultPaths ?? DEFAULT_CONFIG_PATHS;
  const found = defaults.find((p) => lookup.exists(p));
  if (found === undefined) {
    throw new ConfigError(
      `no configuration file found: tried ${defaults.join(', ')} (set ${CONFIG_ENV_VAR} or pass a path)`,
      { file: defaults.join(', ') },
      Code.NOT_FOUND,
    );
  }
  return found;
}
