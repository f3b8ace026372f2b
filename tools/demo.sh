#!/usr/bin/env bash
# `make demo`: a VM lifecycle through the real daemon, step by step, in a
# temporary home. Until the real-guest driver lands, fc-stub stands in for
# firecracker (the daemon cannot tell the difference).
set -euo pipefail
bin=$(cd "$1" && pwd)
work=$(mktemp -d -t banger-demo-XXXXXX)
home="$work/home"
bridge="bgdemo$((RANDOM % 100))"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
banger() { "$bin/banger" --home "$home" "$@"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "make demo needs root: banger-helper creates a bridge and taps" >&2
  exit 1
fi
port=$((20000 + RANDOM % 20000))

step "banger init: a fresh home with its own CA, certificates and credential"
banger init --port "$port" --set "vmm.firecracker-bin=$bin/fc-stub" \
  --set "network.bridge=$bridge" --set "network.subnet=10.231.$((RANDOM % 200)).0/24" \
  --set vmm.stop-grace=5s

step "start banger-helper (root) and bangerd"
"$bin/banger-helper" --home "$home" 2>"$work/helper.log" & pids+=($!)
"$bin/bangerd" --home "$home" 2>"$work/bangerd.log" & pids+=($!)
for _ in $(seq 1 200); do
  if banger -o json daemon status 2>/dev/null | grep -q '"helper_reachable": *true'; then break; fi
  sleep 0.05
done
banger daemon status

step "register an image (a tiny stand-in kernel and rootfs)"
mkdir -p "$home/images/tiny"
echo "kernel" > "$home/images/tiny/vmlinux"
truncate -s 64M "$home/images/tiny/rootfs.ext4"
banger image add tiny --kernel "$home/images/tiny/vmlinux" --rootfs "$home/images/tiny/rootfs.ext4"

step "create and start a VM"
banger vm create --image tiny --name demo --start

step "vm ls"
banger vm ls

step "vm show demo (boot phase timings included)"
banger vm show demo

step "stop it gracefully (SendCtrlAltDel)"
banger vm stop demo
banger vm show demo | grep -E "state|last_stop" || true

step "delete it"
banger vm rm demo
banger vm ls

step "what the daemon logged for one operation (JSON lines)"
op=$(grep -o '"op":"vm.delete","op_id":"op-[0-9a-f]*"' "$work/bangerd.log" | head -1 | grep -o 'op-[0-9a-f]*')
grep "\"$op\"" "$work/bangerd.log" | head -8
grep "\"$op\"" "$work/helper.log" | head -4

step "stop bangerd and banger-helper"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
pids=()
echo "done: everything it created is removed on exit"
