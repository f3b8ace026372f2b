#!/usr/bin/env bash
# Runs banger's benchmarks. Usage: tools/bench.sh BIN_DIR (called by
# `make bench`). Results are summarized at the end; JSON reports stay in
# $BENCH_OUT (default: a temporary directory that is removed) when set.
#   BENCH_SECONDS   length of each load run (default 10)
#   BENCH_VMS       idle VMs for the memory/restart/resolve part (default 10000)
#   BENCH_ONLY      "cli": only the CLI start-up part (perf stat side by side
#                   with /bin/true and, when libvirtd answers, virsh list);
#                   "flood": only the connection-flood part; "pairs": only the
#                   alternating floor/banger pairs at concurrency 16
#   BENCH_FLOOD     connections per flood wave (default 1000)
#   BENCH_CLI_CALLS CLI `vm show` calls per flood measurement (default 200)
#   BENCH_PAIRS     floor/banger pairs at concurrency 16 (default 3)
#   BENCH_PAUSE     seconds between those runs (default 30)
#   BENCH_ONLY=api  only the HTTP API beside the CLI and the events'
#                   delivery latency under load (tools/bench-api.sh)
#   BENCH_ONLY=cluster  only the cluster part: 5 hosts in network namespaces
#                   (tools/cluster-netns.sh); lifecycles entering at the VM's
#                   own host vs another, vm show local vs cross-host, vm ls of
#                   5 x BENCH_CLUSTER_VMS VMs, failure detection (kill,
#                   SIGSTOP, link cut) and a banger-load run with a host killed
#   BENCH_CLUSTER_VMS   VMs per host for the vm ls part (default 1000)
#   BENCH_CLUSTER_HOSTS hosts (default 5)
#   BENCH_ONLY=agent  only guest readiness by the agent's hello against the
#                   SSH banner in the same boots (tools/bench-agent.sh; its
#                   own BENCH_AGENT_* variables)
#   BENCH_ONLY=clone  only clone-ready time against a cold boot, real guests
#                   under QEMU (tools/bench-clone.sh; its own BENCH_CLONE_*
#                   variables)
#   BENCH_ONLY=snapshots  only suspend/restore against a cold boot, real
#                   guests under QEMU (tools/bench-snapshots.sh; its own
#                   BENCH_SNAP_* variables)
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
command -v perf >/dev/null || extras+=(linux-perf)
if [ ${#extras[@]} -gt 0 ]; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  echo "bench: installing ${extras[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${extras[@]}" >/dev/null
fi

if [ -z "${BENCH_ONLY:-}" ]; then
  echo "== storage: durable upserts per second (one commit vs group commit)"
  "$build/bench/store_bench" "$work/store" 2000
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "== the daemon benchmarks need root (banger-helper creates a bridge and taps): skipped"
  exit 0
fi

# -- the cluster: BENCH_CLUSTER_HOSTS hosts, each a network namespace with its
# own helper, bangerd and fc-stub VMs; banger-load runs in the switch
# namespace and enters at any host's CLI port (mutual TLS, cluster CA).
cluster_bench() {
  local n=${BENCH_CLUSTER_HOSTS:-5} per_host=${BENCH_CLUSTER_VMS:-1000} pairs=${BENCH_PAIRS:-3}
  local pause=${BENCH_PAUSE:-30} i entries hosts f ratio ratios=()
  CLUSTER_PUBLIC_CLI=1 CLUSTER_LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
  # shellcheck source=cluster-netns.sh
  source "$(dirname "$0")/cluster-netns.sh"
  CLUSTER_ON_EXIT=cleanup
  echo "== cluster: $n hosts in network namespaces"
  cluster_up "$bin" "$n"
  entries=$(for i in $(seq 1 "$n"); do cluster_home "$i"; done | paste -sd,)
  hosts=$(for i in $(seq 1 "$n"); do echo "h$i"; done | paste -sd,)
  cload() { cluster_client_exec "$bin/banger-load" --entry "$entries" "$@"; }

  # Lifecycles placed on every host in turn, each request entering at the
  # VM's own host (share 0) or at another one (share 1); alternating, as
  # the single-host pairs, since each run slows the next.
  for i in $(seq 1 "$pairs"); do
    for share in 0 1; do
      if [ "$i" != 1 ] || [ "$share" != 0 ]; then sleep "$pause"; fi
      echo "== cluster lifecycle, concurrency 16, cross-host share $share, run $i of $pairs (${seconds}s)"
      f="$out/cluster-lifecycle-$share-$i.json"
      cload --hosts "$hosts" --cross-host-share "$share" --scenario lifecycle --concurrency 16 \
        --duration "${seconds}s" --ramp-up 1s --json "$f" >"${f%.json}.txt" || true
    done
    ratio=$(jq -rn --slurpfile l "$out/cluster-lifecycle-0-$i.json" --slurpfile c "$out/cluster-lifecycle-1-$i.json" \
      'if $l[0].throughput > 0 then $c[0].throughput / $l[0].throughput * 1000 | round / 1000 else 0 end')
    add "  run $i: lifecycles/s own host / other host, ratio" \
      "$(jq -r '.throughput * 10 | round / 10' "$out/cluster-lifecycle-0-$i.json") / $(jq -r '.throughput * 10 | round / 10' "$out/cluster-lifecycle-1-$i.json"), $ratio"
    ratios+=("$ratio")
  done
  add "cluster lifecycles entering elsewhere / at the VM's host (median)" "$(printf '%s\n' "${ratios[@]}" | median)"

  # vm show of VMs on every host, entering at the VM's host or another.
  for share in 0 1; do
    f="$out/cluster-show-$share.json"
    cload --hosts "$hosts" --cross-host-share "$share" --scenario read --vms 50 --concurrency 1 \
      --count 3000 --json "$f" >"${f%.json}.txt" || true
  done
  local route
  for share in 0 1; do
    route=$([ "$share" = 0 ] && echo local || echo cross)
    add "cluster vm show p50 / p99 ms, $route" \
      "$(ms ".routes.$route[\"vm.show\"].latency_us.p50" "$out/cluster-show-$share.json") / $(ms ".routes.$route[\"vm.show\"].latency_us.p99" "$out/cluster-show-$share.json")"
  done

  # vm ls with per_host VMs on every host, created without start.
  echo "== cluster vm ls: $n hosts x $per_host VMs"
  cload --hosts "$hosts" --scenario create --concurrency 16 --count $((n * per_host)) --keep \
    --json "$out/cluster-fill.json" >/dev/null
  add "cluster creates/s while filling" "$(jq -r '.throughput | round' "$out/cluster-fill.json")"
  add "  VMs listed from h1" "$(cluster_cli 1 -o json vm ls | jq '.vms | length')"
  for i in 1 "$n"; do
    f="$out/cluster-ls-h$i.json"
    cluster_client_exec "$bin/banger-load" --entry "$(cluster_home "$i")" --scenario list \
      --concurrency 1 --count 200 --json "$f" >/dev/null || true
    add "cluster vm ls p50 / p99 ms, $((n * per_host)) VMs, entering at h$i" \
      "$(ms '.operations["vm.list"].latency_us.p50' "$f") / $(ms '.operations["vm.list"].latency_us.p99' "$f")"
  done
  local t0 t1
  : >"$work/cli-times"
  for _ in $(seq 1 50); do
    t0=$(date +%s%N)
    cluster_cli 1 vm ls >/dev/null
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >>"$work/cli-times"
  done
  add "  CLI vm ls (table) p50 / max ms" "$(sort -n "$work/cli-times" | awk '{ v[NR] = $1 } END { printf "%.1f / %.1f", v[int(NR * 0.5) + 1] / 1000, v[NR] / 1000 }')"

  # A banger-load run while a host is killed: errors before and after.
  f="$out/cluster-kill.json"
  cload --hosts "$hosts" --cross-host-share 0.5 --scenario read --vms 50 --concurrency 4 \
    --duration 8s --timeout 5s --kill-host "h$n" --fault-at 3s \
    --fault-command "$(cluster_fault_command)" --json "$f" >"${f%.json}.txt" || true
  add "cluster read run, h$n killed at 3 s: errors before / after" \
    "$(jq -r '"\(.fault.before.errors) / \(.fault.after.errors) (\(.fault.after.errors_by_code | to_entries | map("\(.key)=\(.value)") | join(" ")))"' "$f")"
  cluster_restart "$n"
  cluster_wait_ready "$n"
  cluster_wait_all_up 1

  # Failure detection, seen from h1 polling `cluster status`: from the
  # fault to the first `suspect` and the first `down` of h$n, then back.
  detect() { # LABEL FAULT RECOVER
    local t0 now state suspect="" down=""
    t0=$(date +%s%N)
    "$2" "$n"
    while :; do
      state=$(cluster_cli 1 -o json cluster status 2>/dev/null |
        jq -r --arg id "h$n" '.hosts[] | select(.id == $id) | .state' 2>/dev/null || true)
      now=$(( ($(date +%s%N) - t0) / 1000000 ))
      if [ "$state" = suspect ] && [ -z "$suspect" ]; then suspect=$now; fi
      if [ "$state" = down ]; then down=$now; break; fi
      [ "$now" -lt 15000 ] || break
    done
    add "cluster failure detection, $1: suspect / down ms" "${suspect:--} / ${down:-not within 15 s}"
    t0=$(date +%s%N)
    "$3" "$n"
    if [ "$3" = cluster_restart ]; then cluster_wait_ready "$n"; fi
    if cluster_wait_all_up 1; then
      add "  seen up again from h1 after the recovery (ms)" "$(( ($(date +%s%N) - t0) / 1000000 ))"
    else
      add "  seen up again from h1 after the recovery (ms)" "not within 20 s"
    fi
  }
  detect "SIGKILL of bangerd" cluster_kill cluster_restart
  detect "SIGSTOP of bangerd" cluster_stop cluster_resume
  detect "link cut" cluster_cut cluster_restore

  cluster_down
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# A latency in µs at jq path $1 of report $2, in ms; "-" when it has none.
ms() { jq -r "($1) as \$v | if \$v == null then \"-\" else \$v / 1000 | . * 100 | round / 100 end" "$2"; }
summary=()
add() { summary+=("$(printf '%-52s %s' "$1" "$2")"); }

if [ "${BENCH_ONLY:-}" = snapshots ] || [ -z "${BENCH_ONLY:-}" ]; then
  "$(dirname "$0")/bench-snapshots.sh" "$bin"
  [ -n "${BENCH_ONLY:-}" ] && exit 0
fi

if [ "${BENCH_ONLY:-}" = agent ] || [ -z "${BENCH_ONLY:-}" ]; then
  "$(dirname "$0")/bench-agent.sh" "$bin"
  [ -n "${BENCH_ONLY:-}" ] && exit 0
fi

if [ "${BENCH_ONLY:-}" = clone ] || [ -z "${BENCH_ONLY:-}" ]; then
  "$(dirname "$0")/bench-clone.sh" "$bin"
  [ -n "${BENCH_ONLY:-}" ] && exit 0
fi

if [ "${BENCH_ONLY:-}" = cluster ]; then
  cluster_bench
  echo; echo "== summary"; printf '%s\n' "${summary[@]}"
  exit 0
fi

home="$work/home"
bridge="bgbench$((RANDOM % 100))"
port=$((20000 + RANDOM % 20000))
# A /16: 256 concurrent lifecycles and 10,000 VMs need more than a /24.
"$bin/banger" init --home "$home" --port "$port" --set "helper.port=$((port + 1))" \
  --set "api.port=$((port + 2))" \
  --set "vmm.firecracker-bin=$bin/fc-stub" --set "network.bridge=$bridge" \
  --set "network.subnet=10.$((100 + RANDOM % 100)).0.0/16" --set vmm.stop-grace=5s \
  --set daemon.log-level=${BENCH_LOG_LEVEL:-warn} ${BENCH_SET:+--set "$BENCH_SET"} >/dev/null
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

# -- connection flood: `vm show` from the CLI (a new TLS connection per call)
# and over one kept connection, while waves of raw TCP connections hit the
# daemon's port: every 3 s, $BENCH_FLOOD new connections held for 3 s. Loopback
# only. "idle" connections send nothing, "hello" ones a TLS record header and
# then nothing (past TCP_DEFER_ACCEPT, into the handshake bounds).
flood() { # PORT N KIND
  local fds fd
  while :; do
    fds=()
    for _ in $(seq "$2"); do
      exec {fd}<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || continue
      fds+=("$fd")
      [ "$3" = hello ] && printf '\x16\x03\x01\x00\x80' >&"$fd" 2>/dev/null
    done
    sleep 3
    for fd in "${fds[@]}"; do exec {fd}>&-; done
  done
}
# p50 and p99 (ms) of N CLI `vm show` calls, one after the other.
cli_show() { # NAME N
  local t0 t1 i fails=0
  : >"$work/cli-times"
  for i in $(seq "$2"); do
    t0=$(date +%s%N)
    banger vm show "$1" >/dev/null 2>&1 || fails=$((fails + 1))
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >>"$work/cli-times"
  done
  sort -n "$work/cli-times" | awk -v f="$fails" '{ v[NR] = $1 } END {
    printf "%.1f / %.1f (%d calls, %d failed)", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, NR, f }'
}
flood_bench() {
  local n=${BENCH_FLOOD:-1000} kind flood_pid
  echo "== connection flood: vm show with and without $n connections every 3 s"
  add "CLI vm show p50 / p99 ms, no flood" "$(cli_show "$1" "${BENCH_CLI_CALLS:-200}")"
  load --scenario read --concurrency 1 --duration 5s --json "$out/read-noflood.json" >/dev/null
  add "  kept connection, no flood" "$(ms '.operations["vm.show"].latency_us.p50' "$out/read-noflood.json") / $(ms '.operations["vm.show"].latency_us.p99' "$out/read-noflood.json")"
  for kind in idle hello; do
    flood "$port" "$n" "$kind" & flood_pid=$!
    pids+=("$flood_pid")
    sleep 1 # the first wave is open
    add "CLI vm show p50 / p99 ms, $kind flood of $n" "$(cli_show "$1" "${BENCH_CLI_CALLS:-200}")"
    load --scenario read --concurrency 1 --duration 5s --json "$out/read-$kind.json" >/dev/null
    add "  kept connection, $kind flood" "$(ms '.operations["vm.show"].latency_us.p50' "$out/read-$kind.json") / $(ms '.operations["vm.show"].latency_us.p99' "$out/read-$kind.json")"
    kill "$flood_pid"; wait "$flood_pid" 2>/dev/null || true
  done
}

# -- CLI start-up: perf stat -r 31 of each command in one run, so a shared
# machine loads them alike; task-clock (CPU of all threads) is the figure
# that load disturbs least, wall time the one a user sees.
cli_bench() { # NAME
  local runs=${BENCH_CLI_RUNS:-31}
  local cmds=("/bin/true" "$bin/banger --help" "$bin/banger --home $home vm show $1")
  if command -v virsh >/dev/null && virsh -c qemu:///system list >/dev/null 2>&1; then
    cmds+=("virsh -c qemu:///system list")
  fi
  for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086 # the command's own words
    perf stat -r "$runs" -x, -e task-clock $c 2>"$work/perf.csv" >/dev/null
    local cpu; cpu=$(awk -F, '$3 == "task-clock" { printf "%.2f", $1 }' "$work/perf.csv")
    # shellcheck disable=SC2086
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/h.json" "$c" >/dev/null 2>&1
    local label=${c//"$bin/"/}
    label=${label/" --home $home"/}
    add "$label: median wall / task-clock ms" "$(jq -r '.results[0].median * 100000 | round / 100' "$work/h.json") / $cpu"
  done
}

if [ "${BENCH_ONLY:-}" = cli ]; then
  load --scenario create --concurrency 1 --count 1 --keep >/dev/null
  cli_bench "$(banger -o json vm ls | jq -r '.vms[0].name')"
  echo; echo "== summary"; printf '%s\n' "${summary[@]}"
  exit 0
fi

if [ "${BENCH_ONLY:-}" = api ]; then
  # shellcheck source=bench-api.sh
  source "$(dirname "$0")/bench-api.sh"
  api_bench
  exit 0
fi

if [ "${BENCH_ONLY:-}" = flood ]; then
  load --scenario create --concurrency 4 --count 100 --keep >/dev/null
  flood_bench "$(banger -o json vm ls | jq -r '.vms[0].name // .[0].name')"
  echo; echo "== summary"; printf '%s\n' "${summary[@]}"
  exit 0
fi

lifecycle() { # CONCURRENCY JSON [banger-load options...]
  local c=$1 f=$2
  shift 2
  load --scenario lifecycle --concurrency "$c" --duration "${seconds}s" --ramp-up 1s \
    "$@" --json "$f" >"${f%.json}.txt" || true
}
latencies() { # CONCURRENCY JSON
  for op in vm.create vm.start vm.stop vm.delete; do
    add "  $op p50 / p99 ms (c$1)" "$(ms ".operations[\"$op\"].latency_us.p50" "$2") / $(ms ".operations[\"$op\"].latency_us.p99" "$2")"
  done
}
if [ -z "${BENCH_ONLY:-}" ]; then
  echo "== lifecycle with fc-stub, concurrency 1 (${seconds}s)"
  lifecycle 1 "$out/lifecycle-c1.json"
  add "lifecycles/s, concurrency 1" "$(jq -r '.throughput | . * 10 | round / 10' "$out/lifecycle-c1.json")"
  latencies 1 "$out/lifecycle-c1.json"
fi

# Concurrency 16 against the floor (the same per-VM work in-process, no
# actors, no remoting): every run here slows the next one (ext4 without a
# journal skips recently deleted inodes, and every lifecycle deletes a
# handful), so floor and banger runs alternate, floor first, with pauses
# between, and each banger run is compared with the floor run just before it.
pairs=${BENCH_PAIRS:-3}
pause=${BENCH_PAUSE:-30}
ratios=() banger_rates=() floor_rates=()
for i in $(seq 1 "$pairs"); do
  sleep "$pause"
  echo "== lifecycle, concurrency 16, pair $i of $pairs: floor (${seconds}s)"
  floor_json="$out/floor-c16-$i.json"
  lifecycle 16 "$floor_json" --floor-only
  sleep "$pause"
  echo "== lifecycle, concurrency 16, pair $i of $pairs: banger (${seconds}s)"
  banger_json="$out/lifecycle-c16-$i.json"
  lifecycle 16 "$banger_json" --show-probe 20ms
  floor_rate=$(jq -r '.floor.throughput // 0' "$floor_json")
  banger_rate=$(jq -r '.throughput // 0' "$banger_json")
  ratio=$(awk -v b="$banger_rate" -v f="$floor_rate" 'BEGIN { printf "%.3f", (f > 0 ? b / f : 0) }')
  printf 'pair %d: floor %.1f /s, banger %.1f /s, ratio %s\n' "$i" "$floor_rate" "$banger_rate" "$ratio"
  add "  pair $i: floor / banger lifecycles/s, ratio" "$(printf '%.1f / %.1f, %s' "$floor_rate" "$banger_rate" "$ratio")"
  ratios+=("$ratio") banger_rates+=("$banger_rate") floor_rates+=("$floor_rate")
done
median_ratio=$(printf '%s\n' "${ratios[@]}" | median)
echo "median ratio banger / floor at concurrency 16 over $pairs pairs: $median_ratio"
add "lifecycles/s, concurrency 16 (median of $pairs)" "$(printf '%s\n' "${banger_rates[@]}" | median | awk '{ printf "%.1f", $1 }')"
add "  floor lifecycles/s (median of $pairs)" "$(printf '%s\n' "${floor_rates[@]}" | median | awk '{ printf "%.1f", $1 }')"
add "  fraction of the floor (median of $pairs pairs)" "$median_ratio"
latencies 16 "$banger_json"
add "  vm show p99 ms under this load (last pair)" "$(ms '.operations["probe.show"].latency_us.p99' "$banger_json")"
if [ "${BENCH_ONLY:-}" = pairs ]; then
  echo; echo "== summary"; printf '%s\n' "${summary[@]}"
  exit 0
fi
sleep "$pause"

echo "== lifecycle with fc-stub, concurrency 256 (${seconds}s)"
lifecycle 256 "$out/lifecycle-c256.json"
add "lifecycles/s, concurrency 256" "$(jq -r '.throughput | . * 10 | round / 10' "$out/lifecycle-c256.json")"
latencies 256 "$out/lifecycle-c256.json"

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

cli_bench "$name"
flood_bench "$name"

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
