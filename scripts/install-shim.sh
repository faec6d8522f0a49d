#!/bin/sh
# Installs the shim, the CLI and the node's metrics endpoint (kata-monitor) by symlinking
# the bundles in dist/ into a bin directory (default /usr/local/bin) so containerd finds
# `containerd-shim-kata-v2` on its PATH.
# Symlinks, not copies: Node resolves them, so each bundle keeps its extension (the shim's
# entry is CommonJS, .cjs; the others are ES modules, .mjs) and a rebuild takes effect at
# once. Usage: scripts/install-shim.sh [BINDIR]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
bindir=${1:-/usr/local/bin}

for name in containerd-shim-kata-v2 kata-runtime kata-monitor; do
  target="$root/dist/$name.mjs"
  [ "$name" = containerd-shim-kata-v2 ] && target="$root/dist/$name.cjs"
  if [ ! -f "$target" ]; then
    echo "install-shim: $target is missing; run 'npm run build' first" >&2
    exit 1
  fi
  ln -sfn "$target" "$bindir/$name"
  echo "$bindir/$name -> $target"
done
