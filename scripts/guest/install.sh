#!/usr/bin/env bash
# Installs a built guest image at Kata's usual paths (copies, not symlinks, so
# the installed guest survives a `make clean`):
#   vmlinux    -> /usr/share/kata-containers/vmlinux.container
#   initrd.img -> /usr/share/kata-containers/kata-containers-initrd.img
#   rootfs.img -> /usr/share/kata-containers/kata-containers.img
# Idempotent: identical files are left alone; others are replaced atomically.
# Usage: bash scripts/guest/install.sh [--out build/guest] [--dest /usr/share/kata-containers]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT=$REPO/build/guest
DEST=/usr/share/kata-containers

die() {
	echo "guest-install: ERROR: $*" >&2
	exit 1
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--out)
		OUT=$2
		shift 2
		;;
	--dest)
		DEST=$2
		shift 2
		;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done

# A missing manifest means the last build did not finish: refuse to install it.
[[ -f $OUT/manifest ]] || die "no complete guest image in $OUT; run bash scripts/guest/build.sh"
mkdir -p "$DEST"

install_one() {
	local src=$OUT/$1 dest=$DEST/$2
	[[ -f $src ]] || die "$src missing"
	if [[ -f $dest && ! -L $dest ]] && cmp -s "$src" "$dest"; then
		echo "guest-install: $dest up to date"
		return
	fi
	cp "$src" "$dest.tmp.$$"
	chmod 644 "$dest.tmp.$$"
	mv -f "$dest.tmp.$$" "$dest"
	echo "guest-install: installed $dest"
}

install_one vmlinux vmlinux.container
install_one initrd.img kata-containers-initrd.img
install_one rootfs.img kata-containers.img
cp "$OUT/manifest" "$DEST/kata-guest-manifest.tmp.$$"
mv -f "$DEST/kata-guest-manifest.tmp.$$" "$DEST/kata-guest-manifest"
