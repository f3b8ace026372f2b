#!/usr/bin/env bash
# Suspend and restore against a cold boot, side by side in one run with one
# image (called by tools/bench.sh for BENCH_ONLY=snapshots; usage:
# tools/bench-snapshots.sh BIN_DIR). For each guest memory size in
# BENCH_SNAP_MEMORY (MiB, default "256 1024"), BENCH_SNAP_ROUNDS rounds
# (default 3) of: cold `vm start --wait` to SSH-ready, `vm suspend`,
# `vm start --wait` of the suspended VM to SSH-ready, `vm stop`. Prints the
# medians, the ratio restore / cold boot and the size of the saved state.
# Real guests under QEMU (TCG here); needs root like the daemon benchmarks.
set -euo pipefail
bin=$(cd "$1" && pwd)
rounds=${BENCH_SNAP_ROUNDS:-3}
sizes=${BENCH_SNAP_MEMORY:-"256 1024"}
work=$(mktemp -d -t banger-bench-snap-XXXXXX)
home="$work/home"
bridge="bgsnap$((RANDOM % 100))"
pids=()
cleanup() {
  for p in $(pgrep -f "$home/run/vms/" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for t in $(ls "/sys/class/net/$bridge/brif" 2>/dev/null); do ip link del "$t" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
banger() { "$bin/banger" --home "$home" "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

banger init --vmm qemu --port $((20000 + RANDOM % 20000)) \
  --set "network.bridge=$bridge" --set "network.subnet=10.232.$((RANDOM % 200)).0/24" >/dev/null
"$bin/banger-helper" --home "$home" 2>"$work/helper.log" & pids+=($!)
"$bin/bangerd" --home "$home" 2>"$work/bangerd.log" & pids+=($!)
for _ in $(seq 1 200); do
  banger -o json daemon status 2>/dev/null | grep -q '"helper_reachable": *true' && break
  sleep 0.05
done
echo "== snapshots: building the guest image"
banger image build debian >/dev/null

printf '%-8s %10s %12s %14s %8s %12s\n' MEMORY "COLD(ms)" "SUSPEND(ms)" "RESTORE(ms)" RATIO "STATE(MiB)"
for mem in $sizes; do
  name="snap$mem"
  banger vm create --image debian --name "$name" --memory "$mem" >/dev/null 2>&1
  cold=(); suspend=(); restore=(); state=0
  for _ in $(seq 1 "$rounds"); do
    t0=$(date +%s%N); banger vm start --wait "$name" >/dev/null; cold+=("$(ms_since "$t0")")
    t0=$(date +%s%N); banger vm suspend "$name" >/dev/null; suspend+=("$(ms_since "$t0")")
    state=$(banger -o json vm show "$name" | jq '.saved_state.size / 1048576 | floor')
    t0=$(date +%s%N); banger vm start --wait "$name" >/dev/null; restore+=("$(ms_since "$t0")")
    banger vm stop "$name" >/dev/null
  done
  c=$(printf '%s\n' "${cold[@]}" | median)
  s=$(printf '%s\n' "${suspend[@]}" | median)
  r=$(printf '%s\n' "${restore[@]}" | median)
  printf '%-8s %10s %12s %14s %8s %12s\n' "${mem}MiB" "$c" "$s" "$r" \
    "$(awk -v r="$r" -v c="$c" 'BEGIN {printf "%.3f", r / c}')" "$state"
  banger vm rm "$name" >/dev/null
done
