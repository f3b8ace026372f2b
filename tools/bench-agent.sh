#!/usr/bin/env bash
# Guest readiness by the agent's hello against the SSH banner, side by side
# in the same boots (called by tools/bench.sh for BENCH_ONLY=agent; usage:
# tools/bench-agent.sh BIN_DIR). BENCH_AGENT_ROUNDS cold boots (default 5)
# of the image `banger image build` makes (with banger-guest-agent), each
# started with --no-wait at t0 and then watched two ways at once: until
# `vm show` lists the agent as connected, and until port 22 sends an SSH
# banner. Prints both medians and their difference. Real guests under QEMU
# (TCG here); needs root like the daemon benchmarks.
set -euo pipefail
bin=$(cd "$1" && pwd)
rounds=${BENCH_AGENT_ROUNDS:-5}
distro=${BENCH_AGENT_DISTRO:-minimal}
work=$(mktemp -d -t banger-bench-agent-XXXXXX)
home="$work/home"
bridge="bgagt$((RANDOM % 100))"
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
  --set "network.bridge=$bridge" --set "network.subnet=10.233.$((RANDOM % 200)).0/24" >/dev/null
"$bin/banger-helper" --home "$home" 2>"$work/helper.log" & pids+=($!)
"$bin/bangerd" --home "$home" 2>"$work/bangerd.log" & pids+=($!)
for _ in $(seq 1 200); do
  banger -o json daemon status 2>/dev/null | grep -q '"helper_reachable": *true' && break
  sleep 0.05
done
echo "== agent: building the guest image ($distro)"
build_args=(image build agt --vmm qemu)
[ "$distro" = minimal ] || build_args+=(--distro "$distro")
banger "${build_args[@]}" >/dev/null
banger vm create --image agt --name agt >/dev/null 2>&1
ip=$(banger -o json vm show agt | jq -r .guest_ip)

agent=(); ssh=(); wins=0
for _ in $(seq 1 "$rounds"); do
  t0=$(now_ms)
  banger vm start --no-wait agt >/dev/null
  ip=$(banger -o json vm show agt | jq -r .guest_ip)
  ( while ! banger -o json vm show agt | jq -e '.agent != ""' >/dev/null; do sleep 0.02; done
    echo $(( $(now_ms) - t0 )) >"$work/agent.ms" ) &
  a=$!
  ( while :; do
      banner=$(timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22 && head -c 4 <&3" 2>/dev/null || true)
      [ "$banner" = "SSH-" ] && break
      sleep 0.02
    done
    echo $(( $(now_ms) - t0 )) >"$work/ssh.ms" ) &
  s=$!
  wait "$a" "$s"
  agent+=("$(cat "$work/agent.ms")"); ssh+=("$(cat "$work/ssh.ms")")
  banger vm kill --signal KILL agt >/dev/null
done
am=$(printf '%s\n' "${agent[@]}" | median)
sm=$(printf '%s\n' "${ssh[@]}" | median)
printf '%-10s %16s %14s %12s\n' IMAGE "AGENT-READY(ms)" "SSH-READY(ms)" "EARLIER(ms)"
printf '%-10s %16s %14s %12s\n' "$distro" "$am" "$sm" "$((sm - am))"
echo "rounds: agent ${agent[*]} / ssh ${ssh[*]}"
