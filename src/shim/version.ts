// The shim's name and version; esbuild inlines package.json when shim/*.ts is bundled,
// so a release bumps one place.
import pkg from '../../package.json' with { type: 'json' };

export const SHIM_NAME = 'containerd-shim-kata-v2';
export const SHIM_VERSION: string = pkg.version;

/** What `-v`/`--version` prints: human-readable, like the Go shim's `-v`. */
export function versionLine(): string {
  return `${SHIM_NAME}: version ${SHIM_VERSION} (TypeScript, Node ${process.versions.node})`;
}
