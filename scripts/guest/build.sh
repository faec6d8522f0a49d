#!/usr/bin/env bash
# Builds the guest image from Debian packages only:
#   vmlinux      ELF kernel extracted from the cloud kernel's vmlinuz (PVH boot)
#   initrd.img   busybox initramfs: /init loads the virtio modules, mounts the root
#   rootfs.img   read-only ext4 behind a 2 MiB header (MBR + NVDIMM DAX info
#                block): node, runc, busybox, the agent
#   modules/     the kernel's full module tree (depmod'd), kernel.config
#   manifest     every input that went into the image; when it is unchanged a
#                rerun does nothing
# Usage: bash scripts/guest/build.sh [--out build/guest] [--force] [--install]
# Needs root (device node in the initramfs, root-owned files in the ext4 image)
# and the packages in scripts/guest/packages.txt.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT=$REPO/build/guest
FORCE=
INSTALL=
# Uncompressed: the initramfs is ~3 MB, QEMU copies it into guest RAM for free,
# while decompressing it under TCG costs measurable boot time (see docs/guest.md).
INITRD_COMPRESSION=${KATA_GUEST_INITRD_COMPRESSION:-none}
KERNEL_META=linux-image-cloud-amd64
AGENT_BUNDLE=${KATA_AGENT_BUNDLE:-$REPO/dist/kata-agent.mjs}
# The same agent as a V8 snapshot builder script (src/guest/snapshot-entry.ts), and the
# vsock addon the agent loads when the host gives the guest a vsock device.
AGENT_SNAPSHOT_SCRIPT=${KATA_AGENT_SNAPSHOT_SCRIPT:-$REPO/dist/kata-agent.snapshot.cjs}
VSOCK_ADDON=$REPO/native/vsock/build/Release/vsock.node
# Inputs of the image besides packages, node and the agent: a change rebuilds.
INPUT_FILES=(build.sh init kata-agent-init placeholder-agent.mjs modules.txt rootfs-modules.txt)

log() { echo "guest-image: $*" >&2; }
die() {
	echo "guest-image: ERROR: $*" >&2
	exit 1
}

usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--out)
		[[ $# -ge 2 ]] || die "--out needs a directory"
		OUT=$2
		shift 2
		;;
	--out=*)
		OUT=${1#--out=}
		shift
		;;
	--force)
		FORCE=1
		shift
		;;
	--install)
		INSTALL=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done

[[ $EUID -eq 0 ]] || die "must run as root (the image holds root-owned files and a /dev/console node)"
for tool in apt-cache apt-get dpkg dpkg-deb depmod cpio mkfs.ext4 e2fsck readelf sha256sum chroot; do
	command -v "$tool" >/dev/null ||
		die "missing $tool; install the packages in scripts/guest/packages.txt"
done
NODE_BIN=$(readlink -f "${NODE:-$(command -v node || true)}")
[[ -x $NODE_BIN ]] || die "node not found on the host (set NODE=/path/to/node)"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=$OUT/cache
ARCH=$(dpkg --print-architecture)
[[ $ARCH == amd64 ]] || die "only amd64 hosts are supported (the guest kernel is cloud-amd64)"
MULTIARCH=x86_64-linux-gnu

# --- package versions -------------------------------------------------------
# apt-cache costs ~0.8 s per call here (no pkgcache.bin), so one call resolves
# everything; apt-get update runs only when a package is unknown.

APT_UPDATED=
apt_update_once() {
	[[ -z $APT_UPDATED ]] || return 0
	log "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	APT_UPDATED=1
}

# "pkg version" per candidate, plus "kernel <pkg> <version|?>" for the
# linux-image-<abi>-cloud-amd64 package the metapackage depends on.
query_candidates() {
	apt-cache show --no-all-versions "$KERNEL_META" "${GUEST_DEBS[@]}" 2>/dev/null |
		awk -v meta="$KERNEL_META" '
			/^Package: / { pkg = $2 }
			/^Version: / { print pkg, $2 }
			/^Depends: / && pkg == meta {
				n = split(substr($0, 10), deps, ",")
				for (i = 1; i <= n; i++) {
					if (match(deps[i], /linux-image-[0-9][^ ]*/)) {
						name = substr(deps[i], RSTART, RLENGTH)
						version = "?"
						if (match(deps[i], /\(= [^)]*\)/)) version = substr(deps[i], RSTART + 3, RLENGTH - 4)
						print "kernel", name, version
						break
					}
				}
			}' || true
}

GUEST_DEBS=(runc libseccomp2 busybox-static)
declare -A PKG_VERSION
KERNEL_PKG=
parse_candidates() {
	local key a b
	while read -r key a b; do
		if [[ $key == kernel ]]; then
			KERNEL_PKG=$a
			[[ $b == "?" ]] || PKG_VERSION[$a]=$b
		else
			PKG_VERSION[$key]=$a
		fi
	done < <(query_candidates)
}
candidates_complete() {
	local pkg
	[[ -n $KERNEL_PKG ]] || return 1
	for pkg in "${GUEST_DEBS[@]}"; do
		[[ -n ${PKG_VERSION[$pkg]:-} ]] || return 1
	done
}
parse_candidates
if ! candidates_complete; then
	apt_update_once
	parse_candidates
	candidates_complete || die "cannot resolve $KERNEL_META ${GUEST_DEBS[*]} from the apt sources"
fi
if [[ -z ${PKG_VERSION[$KERNEL_PKG]:-} ]]; then
	PKG_VERSION[$KERNEL_PKG]=$(apt-cache show --no-all-versions "$KERNEL_PKG" | awk '/^Version: / { print $2; exit }')
	[[ -n ${PKG_VERSION[$KERNEL_PKG]} ]] || die "no candidate version for $KERNEL_PKG"
fi
KVER=${KERNEL_PKG#linux-image-}

# --- manifest and the up-to-date check ----------------------------------------

sha() { sha256sum "$1" | awk '{ print $1 }'; }

# Hashing the 100 MB node binary takes ~0.6 s; reuse the last hash while the
# file's identity (device, inode, size, mtime, ctime) is unchanged.
sha_cached() {
	local file=$1 key cache=$CACHE/sha256-${1##*/}
	key="$file $(stat -L -c '%d %i %s %Y %Z' "$file")"
	if [[ -f $cache && $(head -n1 "$cache") == "$key" ]]; then
		sed -n 2p "$cache"
		return
	fi
	mkdir -p "$CACHE"
	local hash
	hash=$(sha "$file")
	printf '%s\n%s\n' "$key" "$hash" >"$cache"
	echo "$hash"
}

# Libraries an ELF binary loads, as absolute host paths (the loader included).
elf_libs() {
	ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

node_version=$("$NODE_BIN" --version)
if [[ -f $AGENT_BUNDLE ]]; then
	agent_source="bundle $(sha "$AGENT_BUNDLE")"
	[[ -f $AGENT_SNAPSHOT_SCRIPT ]] && agent_source+=" snapshot $(sha "$AGENT_SNAPSHOT_SCRIPT")"
	[[ -f $VSOCK_ADDON ]] && agent_source+=" vsock $(sha "$VSOCK_ADDON")"
else
	agent_source="placeholder"
fi

write_manifest() {
	echo "format 1"
	echo "kernel $KERNEL_PKG ${PKG_VERSION[$KERNEL_PKG]}"
	local pkg
	for pkg in "${GUEST_DEBS[@]}"; do
		echo "deb $pkg ${PKG_VERSION[$pkg]}"
	done
	echo "node $node_version $(sha_cached "$NODE_BIN")"
	local lib
	while read -r lib; do
		echo "lib $lib $(sha "$lib")"
	done < <(elf_libs "$NODE_BIN" | sort -u)
	local f
	for f in "${INPUT_FILES[@]}"; do
		echo "input $f $(sha "$SCRIPT_DIR/$f")"
	done
	echo "agent $agent_source"
	echo "initrd-compression $INITRD_COMPRESSION"
}

manifest=$(write_manifest)
outputs_present() {
	local f
	for f in vmlinux initrd.img rootfs.img manifest modules/lib/modules/"$KVER"/modules.dep; do
		[[ -e $OUT/$f ]] || return 1
	done
}

run_install() {
	[[ -z $INSTALL ]] || bash "$SCRIPT_DIR/install.sh" --out "$OUT"
}

if [[ -z $FORCE ]] && outputs_present && [[ $manifest == "$(cat "$OUT/manifest")" ]]; then
	echo "guest image up to date ($OUT)"
	run_install
	exit 0
fi

# --- build (everything under a temporary directory next to the outputs) -------

WORK=$(mktemp -d "$OUT/.work.XXXXXX")
cleanup() {
	local status=$?
	rm -rf "$WORK"
	[[ $status -eq 0 ]] || echo "guest-image: build failed; previous outputs (if any) left untouched" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the path of the cached .deb for pkg=version, downloading it if needed.
fetch_deb() {
	local pkg=$1 version=$2 dir=$CACHE/debs deb
	mkdir -p "$dir"
	deb=$dir/${pkg}_${version//:/%3a}_$ARCH.deb
	if [[ ! -f $deb ]]; then
		log "apt-get download $pkg=$version"
		if ! (cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version" >&2); then
			# Stale lists point at a superseded file; refresh once and retry.
			apt_update_once
			(cd "$dir" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$version" >&2) ||
				die "apt-get download $pkg=$version failed"
		fi
		[[ -f $deb ]] || die "downloaded $pkg but $deb is missing"
		find "$dir" -maxdepth 1 -name "${pkg}_*.deb" ! -path "$deb" -delete
	fi
	echo "$deb"
}

extract_deb() {
	local deb
	deb=$(fetch_deb "$1" "${PKG_VERSION[$1]}")
	mkdir -p "$2"
	dpkg-deb -x "$deb" "$2"
}

# Same idea as the kernel's scripts/extract-vmlinux: find each known
# compression magic in the bzImage, decompress from there, keep the first ELF.
extract_vmlinux() {
	local image=$1 out=$2 entry pattern cmd offset
	local -a formats=(
		'\x02\x21\x4c\x18|lz4 -dc'
		'\x28\xb5\x2f\xfd|zstd -dcq'
		'\xfd\x37\x7a\x58\x5a\x00|xz -dcq'
		'\x1f\x8b\x08|gzip -dcq'
		'\x5d\x00\x00\x00|xz -dcq --format=lzma'
		'\x42\x5a\x68|bzip2 -dcq'
	)
	for entry in "${formats[@]}"; do
		pattern=${entry%%|*}
		cmd=${entry#*|}
		command -v "${cmd%% *}" >/dev/null || continue
		# shellcheck disable=SC2013 # offsets are single words
		for offset in $(LC_ALL=C grep -obUaP "$pattern" "$image" | cut -d: -f1); do
			# Trailing bytes after the stream make the decompressor exit non-zero.
			tail -c "+$((offset + 1))" "$image" | $cmd >"$out" 2>/dev/null || true
			if [[ $(head -c4 "$out" | od -An -c | tr -d ' ') == '177ELF' ]]; then
				log "vmlinux: ${cmd%% *} stream at offset $offset"
				return 0
			fi
		done
	done
	die "no compressed ELF kernel found in $image (install lz4, zstd, xz-utils)"
}

# modules.dep → name→path and path→deps, modules.builtin → built-in names.
declare -A MOD_PATH MOD_DEPS MOD_BUILTIN MOD_VISITED
MOD_ORDER=()
modname() {
	local base=${1##*/}
	base=${base%%.ko*}
	echo "${base//-/_}"
}
load_module_index() {
	local dir=$1 line path
	while IFS= read -r line; do
		path=${line%%:*}
		MOD_PATH[$(modname "$path")]=$path
		MOD_DEPS[$path]=${line#*:}
	done <"$dir/modules.dep"
	while IFS= read -r path; do
		MOD_BUILTIN[$(modname "$path")]=1
	done <"$dir/modules.builtin"
}
# Post-order walk: every module comes after its dependencies.
visit_module() {
	local path=$1 dep
	[[ -z ${MOD_VISITED[$path]:-} ]] || return 0
	MOD_VISITED[$path]=1
	for dep in ${MOD_DEPS[$path]}; do
		visit_module "$dep"
	done
	MOD_ORDER+=("$path")
}
# Appends the modules named in a list file (and their dependencies) to MOD_ORDER.
resolve_modules() {
	local name
	while read -r name; do
		name=${name%%#*}
		name=${name//[[:space:]]/}
		[[ -n $name ]] || continue
		name=${name//-/_}
		if [[ -n ${MOD_BUILTIN[$name]:-} ]]; then
			log "module $name is built in"
		elif [[ -n ${MOD_PATH[$name]:-} ]]; then
			visit_module "${MOD_PATH[$name]}"
		else
			die "module $name not in $KERNEL_PKG"
		fi
	done <"$1"
}

# The root image: [MBR | NVDIMM PFN info block at 4 KiB | ... ][ext4 from 2 MiB on].
# As an NVDIMM the guest's pmem driver finds the info block and exposes the data
# after it, the ext4, as /dev/pmem0, which DAX can map (mode "RAM": the page
# structs live in guest RAM, nothing is written to the read-only image). As a
# virtio-blk disk the MBR's one partition is the same ext4 (/dev/vda1). Linux needs
# the data 2 MiB aligned; the whole image is a multiple of 128 MiB so that DIMMs
# hot-added after the NVDIMM start on a memory block (Kata pads to 128 MiB too).
DAX_HEADER_BYTES=$((2 << 20))
NVDIMM_ALIGN_BYTES=$((128 << 20))

# Writes the MBR and the PFN info block (struct nd_pfn_sb of drivers/nvdimm/pfn.h,
# version 1.2, Fletcher-64 checksum) into the first 8 KiB of the image.
write_dax_header() {
	"$NODE_BIN" - "$1" "$2" "$DAX_HEADER_BYTES" <<'NODE'
const fs = require('node:fs');
const [img, totalArg, headerArg] = process.argv.slice(2);
const total = Number(totalArg), header = Number(headerArg);
const mbr = Buffer.alloc(512);
const entry = 446; // partition 1: Linux (0x83), LBA only (CHS fields 0xfeffff)
mbr.set([0xfe, 0xff, 0xff], entry + 1);
mbr[entry + 4] = 0x83;
mbr.set([0xfe, 0xff, 0xff], entry + 5);
mbr.writeUInt32LE(header / 512, entry + 8);
mbr.writeUInt32LE((total - header) / 512, entry + 12);
mbr.set([0x55, 0xaa], 510);
const sb = Buffer.alloc(4096);
sb.write('NVDIMM_PFN_INFO\0', 0, 'latin1'); // uuid, parent_uuid, flags: 0
sb.writeUInt16LE(1, 52); // version_major
sb.writeUInt16LE(2, 54); // version_minor: 2 = has align
sb.writeBigUInt64LE(BigInt(header), 56); // dataoff
sb.writeBigUInt64LE(BigInt((total - header) / 4096), 64); // npfns
sb.writeUInt32LE(1, 72); // mode: PFN_MODE_RAM
sb.writeUInt32LE(2 << 20, 84); // align
let lo = 0n, hi = 0n;
for (let i = 0; i < 4096; i += 4) { // the checksum field itself is still 0
  lo = (lo + BigInt(sb.readUInt32LE(i))) & 0xffffffffn;
  hi = (hi + lo) & 0xffffffffffffffffn;
}
sb.writeBigUInt64LE(((hi << 32n) | lo) & 0xffffffffffffffffn, 4088);
const fd = fs.openSync(img, 'r+');
fs.writeSync(fd, mbr, 0, 512, 0);
fs.writeSync(fd, sb, 0, 4096, 4096);
fs.closeSync(fd);
NODE
}

# Copies the libraries an ELF binary needs into the root, unless present there.
# /lib, /lib64 and /usr/lib all land under /usr (the root is merged-usr).
copy_libs() {
	local root=$1 bin=$2 lib dest
	while read -r lib; do
		[[ $lib != "$root"/* ]] || continue
		dest=$root/usr${lib#/usr}
		[[ -e $dest ]] && continue
		mkdir -p "$(dirname "$dest")"
		cp -L "$lib" "$dest"
	done < <(LD_LIBRARY_PATH=$root/usr/lib/$MULTIARCH elf_libs "$bin")
}

# Links every busybox applet not already provided, bin/ → usr/bin, sbin/ → usr/sbin.
link_applets() {
	local root=$1 applet dest
	while read -r applet; do
		case "$applet" in
		bin/* | sbin/*) applet=usr/$applet ;;
		esac
		dest=$root/$applet
		[[ -e $dest || -L $dest || $applet == usr/bin/busybox ]] && continue
		mkdir -p "$(dirname "$dest")"
		ln -s /usr/bin/busybox "$dest"
	done < <("$root/usr/bin/busybox" --list-full)
}

# ---- kernel
log "kernel $KERNEL_PKG ${PKG_VERSION[$KERNEL_PKG]}"
extract_deb "$KERNEL_PKG" "$WORK/kernel"
KMOD_DIR=$WORK/kernel/lib/modules/$KVER
[[ -d $KMOD_DIR ]] || die "$KERNEL_PKG has no lib/modules/$KVER"
extract_vmlinux "$WORK/kernel/boot/vmlinuz-$KVER" "$WORK/vmlinux"
# XEN_ELFNOTE_PHYS32_ENTRY (type 0x12) is the PVH entry point QEMU's -kernel needs.
readelf -n "$WORK/vmlinux" | grep -q 'Xen.*(0x00000012)' || die "vmlinux has no PVH entry note"
depmod -b "$WORK/kernel" "$KVER"
mkdir -p "$WORK/modules/lib/modules"
mv "$KMOD_DIR" "$WORK/modules/lib/modules/$KVER"
KMOD_DIR=$WORK/modules/lib/modules/$KVER
cp "$WORK/kernel/boot/config-$KVER" "$WORK/kernel.config"
load_module_index "$KMOD_DIR"

# ---- initramfs
log "initramfs"
INITRAMFS=$WORK/initramfs
extract_deb busybox-static "$WORK/busybox"
mkdir -p "$INITRAMFS"/{bin,dev,proc,sys,run,tmp,newroot,lib/modules}
cp "$WORK/busybox/bin/busybox" "$INITRAMFS/bin/busybox"
for applet in $("$INITRAMFS/bin/busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$INITRAMFS/bin/$applet"
done
# The kernel opens /dev/console for /init before devtmpfs is mounted.
mknod -m 600 "$INITRAMFS/dev/console" c 5 1
install -m 755 "$SCRIPT_DIR/init" "$INITRAMFS/init"
resolve_modules "$SCRIPT_DIR/modules.txt"
BOOT_MODULES=("${MOD_ORDER[@]}")
: >"$INITRAMFS/lib/modules/load-order"
for path in "${BOOT_MODULES[@]}"; do
	base=${path##*/}
	[[ ! -e $INITRAMFS/lib/modules/$base ]] || die "two boot modules named $base"
	cp "$KMOD_DIR/$path" "$INITRAMFS/lib/modules/$base"
	echo "$base" >>"$INITRAMFS/lib/modules/load-order"
done
log "boot modules: $(tr '\n' ' ' <"$INITRAMFS/lib/modules/load-order")"
(cd "$INITRAMFS" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$WORK/initrd.cpio"
case "$INITRD_COMPRESSION" in
none) mv "$WORK/initrd.cpio" "$WORK/initrd.img" ;;
gzip) gzip -9n <"$WORK/initrd.cpio" >"$WORK/initrd.img" ;;
lz4) lz4 -l -9 -q <"$WORK/initrd.cpio" >"$WORK/initrd.img" ;;
*) die "unknown initrd compression $INITRD_COMPRESSION (none, gzip, lz4)" ;;
esac

# ---- root filesystem
log "root filesystem"
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/usr/{bin,sbin,lib,lib64} "$ROOTFS"/{etc,proc,sys,dev,run,tmp,root,var}
for d in bin sbin lib lib64; do
	ln -s "usr/$d" "$ROOTFS/$d"
done
ln -s ../run "$ROOTFS/var/run"
chmod 1777 "$ROOTFS/tmp"
chmod 700 "$ROOTFS/root"
# Hidden at runtime by the /run tmpfs (/init recreates it there); kept so the
# image documents where the virtio-fs share goes.
mkdir -p "$ROOTFS/run/kata-containers/shared/containers"

install -m 755 "$NODE_BIN" "$ROOTFS/usr/bin/node"
copy_libs "$ROOTFS" "$ROOTFS/usr/bin/node"

extract_deb runc "$WORK/runc"
extract_deb libseccomp2 "$WORK/libseccomp"
cp -a "$WORK/libseccomp/usr/lib/." "$ROOTFS/usr/lib/"
install -m 755 "$WORK/runc/usr/sbin/runc" "$ROOTFS/usr/sbin/runc"
ln -s ../sbin/runc "$ROOTFS/usr/bin/runc"
copy_libs "$ROOTFS" "$ROOTFS/usr/sbin/runc"

install -m 755 "$WORK/busybox/bin/busybox" "$ROOTFS/usr/bin/busybox"
install -m 755 "$SCRIPT_DIR/kata-agent-init" "$ROOTFS/usr/sbin/kata-agent-init"
link_applets "$ROOTFS"

mkdir -p "$ROOTFS/usr/lib/kata-agent"
install -m 644 "$SCRIPT_DIR/placeholder-agent.mjs" "$ROOTFS/usr/lib/kata-agent/placeholder-agent.mjs"
if [[ -f $AGENT_BUNDLE ]]; then
	log "agent: $AGENT_BUNDLE"
	install -m 644 "$AGENT_BUNDLE" "$ROOTFS/usr/lib/kata-agent/kata-agent.mjs"
	# Where findVsockAddon looks, walking up from the agent's directory.
	if [[ -f $VSOCK_ADDON ]]; then
		install -D -m 644 "$VSOCK_ADDON" "$ROOTFS/usr/lib/kata-agent/native/vsock/build/Release/vsock.node"
	else
		log "agent: $VSOCK_ADDON missing: the guest agent cannot listen on vsock"
	fi
else
	log "agent: dist/kata-agent.mjs missing, installing the placeholder agent"
	install -m 644 "$SCRIPT_DIR/placeholder-agent.mjs" "$ROOTFS/usr/lib/kata-agent/kata-agent.mjs"
fi

# Boot modules plus on-demand extras, with their own depmod index for modprobe.
resolve_modules "$SCRIPT_DIR/rootfs-modules.txt"
RMOD_DIR=$ROOTFS/usr/lib/modules/$KVER
for path in "${MOD_ORDER[@]}"; do
	mkdir -p "$RMOD_DIR/$(dirname "$path")"
	cp "$KMOD_DIR/$path" "$RMOD_DIR/$path"
done
cp "$KMOD_DIR"/modules.{builtin,builtin.modinfo,order} "$RMOD_DIR/"
depmod -b "$ROOTFS" "$KVER"

cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOF
printf '127.0.0.1 localhost\n::1 localhost\n' >"$ROOTFS/etc/hosts"
ln -s ../proc/self/mounts "$ROOTFS/etc/mtab"
{
	echo "kernel=$KVER"
	echo "kernel_package=${PKG_VERSION[$KERNEL_PKG]}"
	echo "node=$node_version"
	echo "runc=${PKG_VERSION[runc]}"
	echo "busybox=${PKG_VERSION[busybox-static]}"
	echo "agent=${agent_source%% *}"
} >"$ROOTFS/etc/kata-guest-release"

# Catch a missing library here rather than as a dead guest.
got=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOTFS" /usr/bin/node -e 'process.stdout.write(process.version)') ||
	die "node does not run inside the root image"
[[ $got == "$node_version" ]] || die "node in the root image reports $got, expected $node_version"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOTFS" /usr/sbin/runc --version >/dev/null || die "runc does not run inside the root image"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOTFS" /bin/sh -c 'true' || die "busybox sh does not run inside the root image"

# The agent's V8 startup snapshot, made by the guest's own node (a snapshot only loads into
# the node binary that wrote it). /init starts the agent from it when it is there.
if [[ -f $AGENT_BUNDLE && -f $AGENT_SNAPSHOT_SCRIPT ]]; then
	install -m 644 "$AGENT_SNAPSHOT_SCRIPT" "$ROOTFS/usr/lib/kata-agent/kata-agent.snapshot.cjs"
	# --no-warnings: node notes that some built-in modules are "not yet fully verified" in
	# snapshots; the agent only calls them after deserialization (tested by the VM suites).
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$ROOTFS" /usr/bin/node --no-warnings \
		--snapshot-blob /usr/lib/kata-agent/kata-agent.blob --build-snapshot /usr/lib/kata-agent/kata-agent.snapshot.cjs ||
		die "cannot build the agent's startup snapshot"
	log "agent: startup snapshot $(du -h "$ROOTFS/usr/lib/kata-agent/kata-agent.blob" | cut -f1)"
fi

# Size: file data rounded to 4 KiB blocks, a block per directory, inode tables,
# then 5% + 4 MiB for ext4 metadata. The image is mounted read-only, so no
# room is kept for writes; the ext4 then fills the image up to the 128 MiB
# boundary (its free blocks are a hole in the file: no disk, no page cache).
read -r data_kib entries < <(find "$ROOTFS" -printf '%y %s\n' |
	awk '$1 == "f" { k += int(($2 + 4095) / 4096) * 4 } $1 == "d" { k += 4 } { n++ } END { print k, n }')
inodes=$(((entries + 63) / 64 * 64 + 64))
need_kib=$(((data_kib + inodes / 4) * 105 / 100 + 4096))
image_bytes=$(((DAX_HEADER_BYTES + need_kib * 1024 + NVDIMM_ALIGN_BYTES - 1) / NVDIMM_ALIGN_BYTES * NVDIMM_ALIGN_BYTES))
fs_kib=$(((image_bytes - DAX_HEADER_BYTES) / 1024))
truncate -s "$image_bytes" "$WORK/rootfs.img"
# 4 KiB blocks: ext4 maps files with DAX only when its block size is the page size.
mkfs.ext4 -q -F -b 4096 -m 0 -N "$inodes" -L kata-rootfs -O ^has_journal,^resize_inode \
	-E "root_owner=0:0,offset=$DAX_HEADER_BYTES" -d "$ROOTFS" "$WORK/rootfs.img" "${fs_kib}k" >/dev/null ||
	die "mkfs.ext4 failed (size ${fs_kib} KiB for ${data_kib} KiB of data)"
write_dax_header "$WORK/rootfs.img" "$image_bytes" || die "cannot write the DAX header"
[[ $(stat -c %s "$WORK/rootfs.img") -eq $image_bytes ]] || die "root image is not $image_bytes bytes"
e2fsck -fn "$WORK/rootfs.img?offset=$DAX_HEADER_BYTES" >/dev/null 2>&1 || die "fsck of the new root image failed"

# ---- publish: drop the manifest first so an interrupted publish is rebuilt
rm -f "$OUT/manifest"
mv -f "$WORK/vmlinux" "$OUT/vmlinux"
mv -f "$WORK/initrd.img" "$OUT/initrd.img"
mv -f "$WORK/rootfs.img" "$OUT/rootfs.img"
mv -f "$WORK/kernel.config" "$OUT/kernel.config"
rm -rf "$OUT/modules"
mv "$WORK/modules" "$OUT/modules"
echo "$manifest" >"$WORK/manifest"
mv -f "$WORK/manifest" "$OUT/manifest"

log "built $OUT: vmlinux $(du -h "$OUT/vmlinux" | cut -f1), initrd.img $(du -h "$OUT/initrd.img" | cut -f1), rootfs.img $(du -h --apparent-size "$OUT/rootfs.img" | cut -f1) (kernel $KVER, node $node_version, agent ${agent_source%% *})"
run_install
