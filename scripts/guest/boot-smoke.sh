#!/usr/bin/env bash
# Boots the guest image under QEMU (TCG) and checks it end to end:
#   bare    kata.init_marker: kernel + initramfs only, time to KATA_GUEST_INIT_MARKER
#   agent   root mounted, node running the placeholder agent (cgroup2, uname -r)
#   devices the same with the virtio-serial agent channel and a virtio-fs share:
#           the port is found by name, bytes flow both ways, kataShared mounts
# Prints the median/min/max boot time (QEMU start -> marker line) per case.
# Usage: bash scripts/guest/boot-smoke.sh [--out build/guest] [--runs N] [--append "kernel args"]
# Exits non-zero when a check fails. Every QEMU/virtiofsd it starts is killed by PID.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT=$REPO/build/guest
RUNS=3
EXTRA_APPEND=
QEMU=${QEMU:-qemu-system-x86_64}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
VM_TIMEOUT_S=90
PLACEHOLDER=/usr/lib/kata-agent/placeholder-agent.mjs

die() {
	echo "boot-smoke: ERROR: $*" >&2
	exit 1
}

while [[ $# -gt 0 ]]; do
	case "$1" in
	--out)
		OUT=$2
		shift 2
		;;
	--runs)
		RUNS=$2
		shift 2
		;;
	--append)
		EXTRA_APPEND=$2
		shift 2
		;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"
for f in vmlinux initrd.img rootfs.img manifest; do
	[[ -f $OUT/$f ]] || die "$OUT/$f missing; run bash scripts/guest/build.sh first"
done
command -v "$QEMU" >/dev/null || die "$QEMU not found (apt-get install qemu-system-x86)"
KVER=$(awk '$1 == "kernel" { sub(/^linux-image-/, "", $2); print $2 }' "$OUT/manifest")

# The guest's TSC calibration is slow and flaky under TCG; hand it the host
# rate (QEMU's TCG TSC ticks at the host rate). Refined value first.
host_tsc_khz() {
	local mhz
	mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n1)
	[[ -n $mhz ]] || mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | tail -n1)
	[[ -n $mhz ]] || mhz=$(awk -F': ' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo)
	[[ -n $mhz ]] || die "cannot read the host TSC rate"
	awk -v m="$mhz" 'BEGIN { printf "%d\n", m * 1000 }'
}
# The command line docs/guest.md recommends to the QEMU driver: console, tsc
# and panic are required; quiet and the rest each shave 0.05-0.5 s of serial
# output, emulated probing or self-tests under TCG.
APPEND="console=ttyS0 tsc_early_khz=$(host_tsc_khz) tsc=reliable panic=1 quiet"
APPEND+=" cryptomgr.notests pci=lastbus=0 8250.nr_uarts=1 no_timer_check noreplace-smp"
APPEND+=" i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
[[ -z $EXTRA_APPEND ]] || APPEND="$APPEND $EXTRA_APPEND"

TMPD=$(mktemp -d /tmp/kata-boot-smoke.XXXXXX)
# Kills only this script's own background jobs that are still unreaped (QEMU,
# virtiofsd, the console reader, the channel client): their PIDs cannot have
# been reused by anything else.
cleanup() {
	local pids
	pids=$(jobs -p)
	if [[ -n $pids ]]; then
		# shellcheck disable=SC2086 # one PID per word
		kill $pids 2>/dev/null || true
		wait 2>/dev/null || true
	fi
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

FAILURES=0
# Prints every failure, and successes only while SHOW_OK is set (first run of a case).
SHOW_OK=1
check() {
	local what=$1 log=$2 pattern=$3
	if grep -qE -- "$pattern" "$log"; then
		[[ -z $SHOW_OK ]] || echo "  ok    $what"
	else
		echo "  FAIL  $what (no /$pattern/ in $(basename "$log"))"
		FAILURES=$((FAILURES + 1))
	fi
}

# Each console line prefixed with the wall clock (bash's EPOCHREALTIME: no fork per line).
stamp_lines() {
	local line
	while IFS= read -r line; do
		printf '%s %s\n' "$EPOCHREALTIME" "${line%$'\r'}"
	done
}

wait_or_kill() {
	local pid=$1 timeout_s=$2 waited=0
	while kill -0 "$pid" 2>/dev/null && [[ $waited -lt $((timeout_s * 10)) ]]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "  timeout after ${timeout_s}s, killing QEMU $pid" >&2
		kill "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# run_vm LOG APPEND_EXTRA [QEMU args...]: boots once, console to LOG with timestamps.
# Sets VM_T0 (start time). QEMU must power itself off (the guest always does).
run_vm() {
	local log=$1 append=$2
	shift 2
	local fifo=$log.fifo
	mkfifo "$fifo"
	VM_T0=$EPOCHREALTIME
	"$QEMU" -M q35 -accel tcg -cpu max -m 512 -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial stdio \
		-kernel "$OUT/vmlinux" -initrd "$OUT/initrd.img" \
		-drive "file=$OUT/rootfs.img,if=none,id=root,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=root \
		-append "$APPEND $append" "$@" \
		</dev/null >"$fifo" 2>"$log.qemu-stderr" &
	VM_PID=$!
	stamp_lines <"$fifo" >"$log" &
	local reader=$!
	[[ -z ${VM_STARTED_HOOK:-} ]] || "$VM_STARTED_HOOK"
	wait_or_kill "$VM_PID" "$VM_TIMEOUT_S"
	wait "$reader" 2>/dev/null || true
	rm -f "$fifo"
	if [[ -s $log.qemu-stderr ]]; then
		sed 's/^/  qemu: /' "$log.qemu-stderr" >&2
	fi
}

# Seconds from QEMU start to the first console line containing the marker.
marker_seconds() {
	awk -v t0="$VM_T0" -v m="$2" 'index($0, m) { printf "%.2f\n", $1 - t0; found = 1; exit } END { if (!found) print "-" }' "$1"
}

stats() {
	tr ' ' '\n' | grep -v -e '^-$' -e '^$' | sort -n |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "no successful run"; exit }
			med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "median %.2f s, min %.2f s, max %.2f s (%d runs)\n", med, v[1], v[NR], NR
		}'
}

echo "kernel command line: $APPEND"

# ---- bare boot: kernel + initramfs, /init prints the marker and powers off
BARE_TIMES=()
for i in $(seq 1 "$RUNS"); do
	log=$TMPD/bare-$i.log
	run_vm "$log" "kata.init_marker"
	t=$(marker_seconds "$log" KATA_GUEST_INIT_MARKER)
	BARE_TIMES+=("$t")
	echo "bare run $i: init marker at ${t} s"
	SHOW_OK=$([[ $i -gt 1 ]] || echo 1)
	check "init marker printed" "$log" 'KATA_GUEST_INIT_MARKER'
	check "root never mounted" "$log" '^[0-9.]+ KATA_GUEST_INIT_MARKER$'
	if grep -q 'KATA_AGENT_PLACEHOLDER' "$log"; then
		echo "  FAIL  agent ran despite kata.init_marker"
		FAILURES=$((FAILURES + 1))
	fi
done

# ---- agent boot: root image, node running the placeholder agent
AGENT_TIMES=()
for i in $(seq 1 "$RUNS"); do
	log=$TMPD/agent-$i.log
	run_vm "$log" "kata.agent_path=$PLACEHOLDER"
	t=$(marker_seconds "$log" 'KATA_AGENT_PLACEHOLDER node')
	AGENT_TIMES+=("$t")
	echo "agent run $i: node placeholder at ${t} s ($(grep -o 'node_bootstrap_ms=[0-9]*' "$log" || echo 'no bootstrap figure'))"
	SHOW_OK=$([[ $i -gt 1 ]] || echo 1)
	check "node runs in the guest" "$log" 'KATA_AGENT_PLACEHOLDER node v[0-9]+'
	check "uname -r is the guest kernel $KVER" "$log" "KATA_GUEST uname_r=$KVER\$"
	check "cgroup2 mounted at /sys/fs/cgroup" "$log" 'KATA_GUEST cgroup_mount=cgroup2$'
	for m in /:ext4:ro /proc:proc /sys:sysfs /dev:devtmpfs /dev/pts:devpts /dev/shm:tmpfs /run:tmpfs /tmp:tmpfs; do
		check "mounted $m" "$log" "KATA_GUEST mounts=(.* )?$m( |:)"
	done
	check "cgroup2 memory+pids controllers" "$log" 'KATA_GUEST cgroup_controllers=.*memory.*pids'
	check "agent is a child of PID 1" "$log" 'KATA_GUEST pid=[0-9]+ ppid=1$'
	check "boot modules loaded" "$log" 'KATA_GUEST modules=.*virtio_blk.*virtio_console.*virtiofs.*vmw_vsock_virtio_transport'
	check "overlayfs mounts (tmpfs upper)" "$log" 'KATA_GUEST overlay_mount=ok$'
	check "placeholder finished" "$log" 'KATA_AGENT_PLACEHOLDER done'
	check "init powered off after the agent exited" "$log" 'kata-agent-init: agent exited with status 0; powering off'
done

# ---- devices: virtio-serial agent channel + virtio-fs share
log=$TMPD/devices.log
shared=$TMPD/shared
mkdir -p "$shared"
token="smoke-$$-$RANDOM"
echo "$token" >"$shared/kata-smoke.txt"
# An OCI bundle (busybox rootfs) for the placeholder to run with runc in the guest.
mkdir -p "$shared/bundle/rootfs/bin"
busybox_deb=$(find "$OUT/cache/debs" -name 'busybox-static_*.deb' | head -n1)
[[ -n $busybox_deb ]] || die "no busybox-static .deb in $OUT/cache/debs"
dpkg-deb --fsys-tarfile "$busybox_deb" | tar -xO ./bin/busybox >"$shared/bundle/rootfs/bin/busybox"
chmod 755 "$shared/bundle/rootfs/bin/busybox"
ln -s busybox "$shared/bundle/rootfs/bin/sh"
# shellcheck disable=SC2016 # JavaScript, not shell
node -e '
	const [path, token] = process.argv.slice(1);
	const spec = {
		ociVersion: "1.0.2",
		process: {
			terminal: false, user: { uid: 0, gid: 0 }, cwd: "/",
			args: ["/bin/sh", "-c", `echo container ${token} $(cat /proc/self/cgroup)`],
			env: ["PATH=/bin"],
			capabilities: { bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"] },
			noNewPrivileges: true,
		},
		root: { path: "rootfs", readonly: true },
		hostname: "smoke",
		mounts: [
			{ destination: "/proc", type: "proc", source: "proc" },
			{ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
		],
		linux: {
			namespaces: ["pid", "ipc", "uts", "mount"].map((type) => ({ type })),
			cgroupsPath: "/smoke",
			resources: { memory: { limit: 67108864 }, pids: { limit: 32 } },
		},
	};
	require("node:fs").writeFileSync(path, JSON.stringify(spec, null, 1));
' "$shared/bundle/config.json" "$token"
vfs_sock=$TMPD/vfs.sock
chan_sock=$TMPD/agent.sock
"$VIRTIOFSD" --socket-path="$vfs_sock" -o source="$shared" -o cache=auto \
	>"$TMPD/virtiofsd.log" 2>&1 &
VFS_PID=$!
for _ in $(seq 1 50); do
	[[ -S $vfs_sock ]] && break
	sleep 0.1
done
[[ -S $vfs_sock ]] || die "virtiofsd did not create $vfs_sock: $(cat "$TMPD/virtiofsd.log")"

# Host end of the agent channel: send a line, record what the guest writes.
connect_channel() {
	for _ in $(seq 1 50); do
		[[ -S $chan_sock ]] && break
		sleep 0.1
	done
	# shellcheck disable=SC2016 # JavaScript, not shell
	node -e '
		const net = require("node:net");
		const [sock, token] = process.argv.slice(1);
		const c = net.connect(sock, () => c.write(`PING ${token}\n`));
		c.on("data", (d) => process.stdout.write(d));
		c.on("error", (e) => { console.error(e.message); process.exit(1); });
		setTimeout(() => process.exit(0), 120000).unref();
	' "$chan_sock" "$token" >"$TMPD/channel-host.log" 2>&1 &
	CHANNEL_PID=$!
}
VM_STARTED_HOOK=connect_channel
run_vm "$log" "kata.agent_path=$PLACEHOLDER" \
	-object memory-backend-memfd,id=mem0,size=512M,share=on -numa node,memdev=mem0 \
	-chardev "socket,id=vfs,path=$vfs_sock" -device vhost-user-fs-pci,chardev=vfs,tag=kataShared \
	-device virtio-serial-pci \
	-chardev "socket,id=ch0,path=$chan_sock,server=on,wait=off" \
	-device virtserialport,chardev=ch0,name=agent.channel.0
VM_STARTED_HOOK=
DEVICES_TIME=$(marker_seconds "$log" 'KATA_AGENT_PLACEHOLDER node')
echo "devices run: node placeholder at ${DEVICES_TIME} s"
SHOW_OK=1
check "virtio-serial port named agent.channel.0" "$log" 'KATA_GUEST virtio_port=vport[0-9]+p[0-9]+ name=agent.channel.0$'
check "agent channel device found" "$log" 'KATA_GUEST agent_channel=/dev/vport[0-9]+p[0-9]+$'
check "guest wrote to the channel" "$log" 'KATA_GUEST channel_write=ok$'
check "guest read the host's line" "$log" "KATA_GUEST channel_read=\"PING $token\"\$"
check "virtiofs kataShared mounted" "$log" 'KATA_GUEST virtiofs_mount=ok$'
check "shared file visible in the guest" "$log" "KATA_GUEST virtiofs_file_kata-smoke.txt=\"$token\"\$"
check "runc runs in the guest" "$log" 'KATA_GUEST runc_version=runc version [0-9]'
check "runc ran a container from the virtio-fs bundle (cgroup v2)" "$log" "KATA_GUEST runc_run=\"container $token 0::/smoke\"\$"
wait_or_kill "$CHANNEL_PID" 5
if grep -q 'KATA_AGENT_PLACEHOLDER hello from the guest' "$TMPD/channel-host.log"; then
	echo "  ok    host read the guest's line from the channel socket"
else
	echo "  FAIL  host did not receive the guest's line: $(head -c 200 "$TMPD/channel-host.log")"
	FAILURES=$((FAILURES + 1))
fi
wait_or_kill "$VFS_PID" 5

echo
echo "what the placeholder reported in the devices run:"
grep -E 'KATA_(GUEST|AGENT)' "$TMPD/devices.log" | cut -d' ' -f2- | cut -c1-200 | sed 's/^/  /'
echo
echo "bare boot (QEMU start -> KATA_GUEST_INIT_MARKER): $(echo "${BARE_TIMES[*]}" | stats)"
echo "agent boot (QEMU start -> node placeholder line): $(echo "${AGENT_TIMES[*]}" | stats)"
echo "with virtio-serial + virtio-fs (memfd RAM):       ${DEVICES_TIME} s"
if [[ $FAILURES -gt 0 ]]; then
	echo "boot-smoke: $FAILURES check(s) failed; console logs:" >&2
	for f in "$TMPD"/*.log; do
		echo "--- $f" >&2
		tail -n 40 "$f" >&2
	done
	exit 1
fi
echo "boot-smoke: all checks passed"
