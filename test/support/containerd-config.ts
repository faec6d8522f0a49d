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
}

/**
 * The CRI plugin and snapshotters that cannot work here. (The v1 runtime must stay:
 * the 1.6 tasks service fails to load without a plugin of that type.)
 */
export const DEFAULT_DISABLED_PLUGINS: readonly string[] = [
  'io.containerd.grpc.v1.cri',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
];

/** TOML basic strings accept JSON's escapes for everything a path can hold. */
const str = (s: string): string => JSON.stringify(s);

export function renderContainerdConfig(paths: ContainerdPaths, options: ContainerdConfigOptions = {}): string {
  const disabled = options.disabledPlugins ?? DEFAULT_DISABLED_PLUGINS;
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
  if (options.extraConfig) lines.push(options.extraConfig.trim(), '');
  return lines.join('\n');
}
