#!/usr/bin/env bash
# The main job, run by `make demo` after setup: check the host, then run a container
# inside a VM with the project's guest and agent.
set -euo pipefail
cd "$(dirname "$0")/.."
conf=config/configuration.toml
echo "== kata-runtime check (configuration: $conf)"
node dist/kata-runtime.mjs --kata-config="$conf" check
echo "== host kernel: $(uname -r)"
echo "== a container in its own VM"
npx --no-install tsx scripts/demo-vm.ts "$conf"
