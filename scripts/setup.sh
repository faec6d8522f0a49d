#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian 12 machine with Node 20, then builds.
#   scripts/setup.sh deps    Debian packages, npm dependencies, TypeScript build
#   scripts/setup.sh all     deps + the guest image (kernel, initramfs, root) installed to Kata's paths
# Idempotent: packages already present and an unchanged guest image cost nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  qemu-system-x86 qemu-utils containerd runc busybox-static e2fsprogs cpio kmod
  socat procps iproute2 hyperfine containernetworking-plugins
)
if [ -f scripts/guest/packages.txt ]; then
  mapfile -t guest_pkgs < <(grep -v '^\s*#' scripts/guest/packages.txt | grep -v '^\s*$')
  APT_PACKAGES+=("${guest_pkgs[@]}")
fi

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root (it installs Debian packages and boots VMs)" >&2
    exit 1
  fi
}

install_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_node_modules() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

build() {
  npm run --silent build
}

guest_image() {
  if [ -f scripts/guest/build.sh ]; then
    bash scripts/guest/build.sh --install
  fi
}

need_root
case "${1:-deps}" in
  deps) install_packages; install_node_modules; build ;;
  all) install_packages; install_node_modules; build; guest_image ;;
  *) echo "usage: scripts/setup.sh [deps|all]" >&2; exit 2 ;;
esac
