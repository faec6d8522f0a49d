#!/usr/bin/env bash
# The main job, run by `make demo` after setup: a private containerd 1.6 with this
# shim installed runs a busybox container in its own VM (`ctr run --runtime
# io.containerd.kata.v2 ... uname -r`) and prints the guest's kernel; then a Kubernetes
# pod through containerd's CRI plugin serves HTTP from its VM on the pod IP
# (scripts/demo-pod.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
conf=$repo/config/configuration.toml
demo=$(mktemp -d /tmp/kata-demo.XXXXXX)
image=docker.io/library/busybox:latest
ctr() { command ctr --address "$demo/containerd.sock" -n default "$@"; }

containerd_pid=
cleanup() {
	if [ -n "$containerd_pid" ]; then
		ctr tasks delete --force kata-demo >/dev/null 2>&1 || true
		kill "$containerd_pid" 2>/dev/null || true
		wait "$containerd_pid" 2>/dev/null || true
	fi
	grep -o " $demo[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$demo"
}
trap cleanup EXIT

echo "== kata-runtime check ($conf)"
node dist/kata-runtime.mjs --kata-config="$conf" check

mkdir -p "$demo/bin"
ln -s "$repo/dist/containerd-shim-kata-v2.cjs" "$demo/bin/containerd-shim-kata-v2"
ln -s "$repo/dist/kata-monitor.mjs" "$demo/bin/kata-monitor"
cat >"$demo/containerd.toml" <<TOML
version = 2
root = "$demo/root"
state = "$demo/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$demo/containerd.sock"
[ttrpc]
  address = "$demo/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$demo/opt"
TOML
echo "== starting a private containerd ($(containerd --version | awk '{print $3}')) with the shim on its PATH"
PATH="$demo/bin:$PATH" KATA_CONF_FILE="$conf" containerd --config "$demo/containerd.toml" >"$demo/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
ctr version >/dev/null

echo "== importing a busybox image built locally from Debian's busybox-static"
tar=$(node scripts/image/build-busybox-oci.mjs | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).path))')
ctr images import "$tar" >/dev/null

echo "== host kernel: $(uname -r)"
echo "== ctr run --rm --runtime io.containerd.kata.v2 $image kata-demo uname -r"
start=$(date +%s%N)
ctr run --rm --runtime io.containerd.kata.v2 "$image" kata-demo sh -c 'echo "container kernel: $(uname -r)"'
echo "== done in $(( ($(date +%s%N) - start) / 1000000 )) ms (the VM ran under $(grep -q -E 'vmx|svm' /proc/cpuinfo && echo KVM || echo TCG))"

echo
echo "== a Kubernetes pod through containerd's CRI plugin, RuntimeClass handler \"kata\""
npx tsx scripts/demo-pod.ts "$conf"
