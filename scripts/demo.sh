#!/usr/bin/env bash
# The main job, run by `make demo` after setup.
set -euo pipefail
cd "$(dirname "$0")/.."
conf=config/configuration.toml
echo "== kata-runtime check (configuration: $conf)"
node dist/kata-runtime.mjs --kata-config="$conf" check || true
echo "== kata-runtime env"
node dist/kata-runtime.mjs --kata-config="$conf" env
