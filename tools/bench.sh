#!/usr/bin/env bash
# Runs banger's benchmarks. Usage: tools/bench.sh BIN_DIR (called by
# `make bench`). Results are summarized at the end; JSON reports stay in
# $BENCH_OUT (default: a temporary directory that is removed) when set.
#   BENCH_SECONDS   length of each load run (default 10)
#   BENCH_VMS       idle VMs for the memory/restart/resolve part (default 10000)
set -euo pipefail
bin=$(cd "$1" && pwd)
build=$(dirname "$bin")
seconds=${BENCH_SECONDS:-10}
idle_vms=${BENCH_VMS:-10000}
work=$(mktemp -d -t banger-bench-XXXXXX)
out=${BENCH_OUT:-$work/out}
mkdir -p "$out"
pids=()
bridge=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # The logs explain a surprising figure; kept with the reports.
  if [ -n "${BENCH_OUT:-}" ]; then cp "$work"/*.log "$out"/ 2>/dev/null || true; fi
  if [ -n "$bridge" ]; then
    for t in $(ls "/sys/class/net/$bridge/brif" 2>/dev/null); do ip link del "$t" || true; done
    ip link del "$bridge" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Extras only the benchmarks need.
extras=()
for tool in jq hyperfine; do command -v "$tool" >/dev/null || extras+=("$tool"); done
if [ ${#extras[@]} -gt 0 ]; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  echo "bench: installing ${extras[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${extras[@]}" >/dev/null
fi

echo "== storage: durable upserts per second (one commit vs group commit)"
"$build/bench/store_bench" "$work/store" 2000

if [ "$(id -u)" -ne 0 ]; then
  echo "== the daemon benchmarks need root (banger-helper creates a bridge and taps): skipped"
  exit 0
fi

home="$work/home"
bridge="bgbench$((RANDOM % 100))"
port=$((20000 + RANDOM % 20000))
# A /16: 256 concurrent lifecycles and 10,000 VMs need more than a /24.
"$bin/banger" init --home "$home" --port "$port" --set "helper.port=$((port + 1))" \
  --set "vmm.firecracker-bin=$bin/fc-stub" --set "network.bridge=$bridge" \
  --set "network.subnet=10.$((100 + RANDOM % 100)).0.0/16" --set vmm.stop-grace=5s \
  --set daemon.log-level=${BENCH_LOG_LEVEL:-warn} >/dev/null
banger() { "$bin/banger" --home "$home" "$@"; }
load() { "$bin/banger-load" --home "$home" "$@"; }
start_daemon() {
  "$bin/bangerd" --home "$home" 2>>"$work/bangerd.log" & daemon_pid=$!
  pids+=("$daemon_pid")
}
"$bin/banger-helper" --home "$home" 2>"$work/helper.log" & pids+=($!)
start_daemon
for _ in $(seq 1 400); do
  banger -o json daemon status 2>/dev/null | grep -q '"helper_reachable": *true' && break
  sleep 0.05
done
ms() { jq -r "$1 / 1000 | . * 100 | round / 100" "$2"; }
summary=()
add() { summary+=("$(printf '%-52s %s' "$1" "$2")"); }

for c in 1 16 256; do
  extra=()
  [ "$c" = 16 ] && extra=(--floor --show-probe 20ms)
  echo "== lifecycle with fc-stub, concurrency $c (${seconds}s)"
  load --scenario lifecycle --concurrency "$c" --duration "${seconds}s" --ramp-up 1s \
    "${extra[@]}" --json "$out/lifecycle-c$c.json" || true
  f="$out/lifecycle-c$c.json"
  add "lifecycles/s, concurrency $c" "$(jq -r '.throughput | . * 10 | round / 10' "$f")"
  for op in vm.create vm.start vm.stop vm.delete; do
    add "  $op p50 / p99 ms (c$c)" "$(ms ".operations[\"$op\"].latency_us.p50" "$f") / $(ms ".operations[\"$op\"].latency_us.p99" "$f")"
  done
  if [ "$c" = 16 ]; then
    add "  fraction of the floor (c16)" "$(jq -r '.floor.fraction | . * 100 | round / 100' "$f")"
    add "  floor lifecycles/s (c16)" "$(jq -r '.floor.throughput | . * 10 | round / 10' "$f")"
    add "  vm show p99 ms under this load" "$(ms '.operations["probe.show"].latency_us.p99' "$f")"
  fi
done

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
echo "== memory per idle VM: $idle_vms VMs created, not running"
before=$(rss_kib "$daemon_pid")
load --scenario create --concurrency 16 --count "$idle_vms" --keep --json "$out/create.json" >/dev/null
after=$(rss_kib "$daemon_pid")
echo "daemon RSS ${before} KiB -> ${after} KiB"
per_vm() { awk -v a="$1" -v b="$2" -v n="$idle_vms" 'BEGIN { printf "%.1f", (b - a) / n }'; }
add "daemon RSS per idle VM (KiB)" "$(per_vm "$before" "$after") (${before} -> ${after} KiB)"
add "creates/s while filling" "$(jq -r '.throughput | round' "$out/create.json")"

echo "== registry resolve: vm show at $idle_vms VMs"
load --scenario read --concurrency 1 --count 2000 --json "$out/read-c1.json" >/dev/null
add "vm show p50 / p99 ms at $idle_vms VMs (c1)" "$(ms '.operations["vm.show"].latency_us.p50' "$out/read-c1.json") / $(ms '.operations["vm.show"].latency_us.p99' "$out/read-c1.json")"

echo "== CLI vm show wall time"
name=$(banger -o json vm ls | jq -r '.vms[0].name // .[0].name')
hyperfine -N --warmup 5 --runs 100 --export-json "$out/cli-show.json" \
  "$bin/banger --home $home vm show $name" >/dev/null
add "CLI vm show median / max ms" "$(jq -r '.results[0] | "\(.median * 100000 | round / 100) / \(.max * 100000 | round / 100)"' "$out/cli-show.json")"

echo "== restart: SIGTERM, start, until vm show answers, with $idle_vms VMs"
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
t0=$(date +%s%N)
start_daemon
until banger vm show "$name" >/dev/null 2>&1; do :; done
t1=$(date +%s%N)
add "restart to serving with $idle_vms VMs (ms)" "$(( (t1 - t0) / 1000000 ))"
add "daemon RSS after restart per VM (KiB)" "$(per_vm "$before" "$(rss_kib "$daemon_pid")")"

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
