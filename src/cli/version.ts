// The runtime's version comes from package.json so releases bump one place; esbuild
// inlines the JSON when shim/*.ts is bundled.
import pkg from '../../package.json' with { type: 'json' };

export const RUNTIME_VERSION: string = pkg.version;

/** Kata's `kata-runtime --version` layout: the name and version first, details indented. */
export function versionText(): string {
  return [
    `kata-runtime  : ${RUNTIME_VERSION}`,
    `   implementation: containerd-shim-kata-v2 (TypeScript, Node ${process.versions.node})`,
  ].join('\n');
}
