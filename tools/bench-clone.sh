#!/usr/bin/env bash
# Clone-ready time against a cold boot of the same image, real guests under
# QEMU (TCG here), in one run (called by tools/bench.sh for
# BENCH_ONLY=clone; usage: tools/bench-clone.sh BIN_DIR). One source VM of
# the image `banger image build` makes (with banger-guest-agent), booted
# BENCH_CLONE_ROUNDS times (default 5) from cold (`vm start`, ready at the
# agent's hello), then snapshotted once it runs; then BENCH_CLONE_ROUNDS
# clones of that snapshot (`vm clone SRC@warm`, ready once the clone runs
# with its own identity), each removed before the next. Prints both medians
# and their ratio, and the clone's stages of the last round (op show).
# BENCH_CLONE_DISTRO=debian for the Debian image; BENCH_CLONE_MEMORY (MiB,
# default 256).
set -euo pipefail
bin=$(cd "$1" && pwd)
rounds=${BENCH_CLONE_ROUNDS:-5}
distro=${BENCH_CLONE_DISTRO:-minimal}
memory=${BENCH_CLONE_MEMORY:-256}
work=$(mktemp -d -t banger-bench-clone-XXXXXX)
home="$work/home"
bridge="bgcln$((RANDOM % 100))"
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
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

banger init --vmm qemu --port $((20000 + RANDOM % 20000)) \
  --set "network.bridge=$bridge" --set "network.subnet=10.234.$((RANDOM % 200)).0/24" \
  --set vmm.boot-timeout=120s >/dev/null
"$bin/banger-helper" --home "$home" 2>"$work/helper.log" & pids+=($!)
"$bin/bangerd" --home "$home" 2>"$work/bangerd.log" & pids+=($!)
for _ in $(seq 1 200); do
  banger -o json daemon status 2>/dev/null | grep -q '"helper_reachable": *true' && break
  sleep 0.05
done
echo "== clone: building the guest image ($distro)"
build_args=(image build cln --vmm qemu)
[ "$distro" = minimal ] || build_args+=(--distro "$distro")
banger "${build_args[@]}" >/dev/null
banger vm create --image cln --name src --memory "$memory" >/dev/null

boot=()
for _ in $(seq 1 "$rounds"); do
  t0=$(now_ms)
  banger vm start --wait src >/dev/null
  boot+=("$(( $(now_ms) - t0 ))")
  banger vm kill --signal KILL src >/dev/null
done
banger vm start --wait src >/dev/null
banger vm ssh src -- true >/dev/null 2>&1 # its SSH server (and host key) are up
banger vm snapshot src warm >/dev/null

clone=()
for i in $(seq 1 "$rounds"); do
  t0=$(now_ms)
  banger -o json vm clone src@warm "c$i" >"$work/clone.json"
  clone+=("$(( $(now_ms) - t0 ))")
  [ "$i" = "$rounds" ] || banger vm rm "c$i" >/dev/null
done
bm=$(printf '%s\n' "${boot[@]}" | median)
cm=$(printf '%s\n' "${clone[@]}" | median)
printf '%-10s %8s %16s %16s %8s\n' IMAGE MEMORY "COLD-BOOT(ms)" "CLONE-READY(ms)" RATIO
printf '%-10s %8s %16s %16s %8s\n' "$distro" "${memory}M" "$bm" "$cm" \
  "$(awk -v c="$cm" -v b="$bm" 'BEGIN {printf "%.2f", c / b}')"
echo "rounds: boot ${boot[*]} / clone ${clone[*]}"
echo "stages of the last clone (ms from its start):"
grep '"op":"vm.clone"' "$work/bangerd.log" | grep "\"vm_name\":\"c$rounds\"" |
  jq -r 'select(.msg == "stage" or .msg == "operation completed") |
         "  \(.stage // "done") \(.elapsed_ms // .duration_ms)"'
