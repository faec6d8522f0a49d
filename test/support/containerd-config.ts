// Renders the config.toml of a private containerd: every path inside one temp dir,
// so an instance never touches /var/lib/containerd, /opt/containerd or the system socket.

export interface ContainerdPaths {
  root: string;
  state: string;
  opt: string;
  address: string;
  ttrpcAddress: string;
}

export interface ContainerdConfigOptions {
  /** containerd's log level; default "debug" (the log is a file, read only on failure). */
  debugLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Plugin ids to disable; default DEFAULT_DISABLED_PLUGINS. */
  disabledPlugins?: readonly string[];
  /** Appended verbatim: extra tables such as a runtime entry. Must not redefine the tables above. */
  extraConfig?: string;
  /**
   * Enables the CRI plugin with this TOML: the `[plugins."io.containerd.grpc.v1.cri"]` table
   * and its subtables, written as given. Without it the plugin stays disabled.
   */
  criConfig?: string;
}

const CRI_PLUGIN = 'io.containerd.grpc.v1.cri';

/**
 * The CRI plugin (enabled by `criConfig` only: it needs a CNI config and a sandbox image)
 * and the snapshotters that cannot work here. (The v1 runtime must stay: the 1.6 tasks
 * service fails to load without a plugin of that type.)
 */
export const DEFAULT_DISABLED_PLUGINS: readonly string[] = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
];

/** TOML basic strings accept JSON's escapes for everything a path can hold. */
export const tomlString = (s: string): string => JSON.stringify(s);
const str = tomlString;

/** The plugins to disable: the given list or the defaults, minus CRI when it is configured. */
function disabledPlugins(options: ContainerdConfigOptions): readonly string[] {
  if (options.criConfig === undefined) return options.disabledPlugins ?? DEFAULT_DISABLED_PLUGINS;
  if (options.disabledPlugins?.includes(CRI_PLUGIN)) {
    throw new Error(`containerd config: criConfig given but ${CRI_PLUGIN} is in disabledPlugins`);
  }
  return (options.disabledPlugins ?? DEFAULT_DISABLED_PLUGINS).filter((p) => p !== CRI_PLUGIN);
}

export function renderContainerdConfig(paths: ContainerdPaths, options: ContainerdConfigOptions = {}): string {
  const disabled = disabledPlugins(options);
  const lines = [
    'version = 2',
    `root = ${str(paths.root)}`,
    `state = ${str(paths.state)}`,
    `disabled_plugins = [${disabled.map(str).join(', ')}]`,
    '',
    '[grpc]',
    `  address = ${str(paths.address)}`,
    '',
    '[ttrpc]',
    `  address = ${str(paths.ttrpcAddress)}`,
    '',
    '[debug]',
    `  level = ${str(options.debugLevel ?? 'debug')}`,
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${str(paths.opt)}`,
    '',
  ];
  if (options.criConfig !== undefined) lines.push(options.criConfig.trim(), '');
  if (options.extraConfig) lines.push(options.extraConfig.trim(), '');
  return lines.join('\n');
}
