#!/usr/bin/env bash
# BENCH_ONLY=api tools/bench.sh BIN: the HTTP API beside the CLI, and the
# events' delivery latency under load. Sourced by tools/bench.sh after its
# home is up (functions banger, load; variables home, work, bin).
#
# 1. `vm show` as a new process each time: `banger vm show NAME` against
#    `curl ... /v1/vms/NAME` (both pay a process start and a TLS
#    handshake), hyperfine -N, 31 runs each, one after the other.
# 2. The API alone: one curl asking GET /v1/vms/NAME 200 times over one
#    kept-alive connection (curl's %{time_total} per request).
# 3. Events under the lifecycle load: `curl -N /v1/events` read by a
#    timestamping reader while banger-load runs lifecycles at concurrency 16;
#    delivery latency = arrival - the event's at_us; the same load without a
#    reader first, for the cost of one. BENCH_PERF=1 adds bangerd's perf
#    profile (top symbols) during the first run with the reader.
# utime + stime of PID in ms (/proc/PID/stat fields 14 and 15).
proc_cpu_ms() {
  local hz; hz=$(getconf CLK_TCK)
  awk -v hz="$hz" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "/proc/$1/stat" 2>/dev/null || echo 0
}
reader_cpu_ms() { # the curl reading /v1/events and the python after it
  local total=0 pid
  for pid in $(pgrep -f "127.0.0.1:$1/v1/events") $(pgrep -f "events-latency-"); do
    total=$((total + $(proc_cpu_ms "$pid")))
  done
  echo "$total"
}

api_bench() {
  local api_port cert key ca name url
  cert="$home/tls/client.pem"; key="$home/tls/client.key"; ca="$home/tls/ca.pem"
  api_port=$(awk '/^\[api\]/{a=1;next} /^\[/{a=0} a && /port/{gsub(/[^0-9]/,"");print;exit}' "$home/banger.conf")
  if [ -z "$api_port" ] || [ "$api_port" = 0 ]; then
    echo "api bench: the home has no api.port" >&2; return 1
  fi
  load --scenario create --concurrency 1 --count 1 --keep >/dev/null
  name=$(banger -o json vm ls | jq -r '.vms[0].name')
  url="https://127.0.0.1:$api_port/v1/vms/$name"
  local C=(curl -sS -o /dev/null --cert "$cert" --key "$key" --cacert "$ca")
  echo "== vm show: CLI against curl and the HTTP API (new process each, 31 runs)"
  hyperfine -N --runs 31 --warmup 3 --export-json "$work/api-hyperfine.json" \
    "$bin/banger --home $home vm show $name" "${C[*]} $url" >/dev/null 2>&1
  python3 - "$work/api-hyperfine.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f'  {r["command"].split()[0].rsplit("/",1)[-1]:>8}: median {r["median"]*1e3:.2f} ms, mean {r["mean"]*1e3:.2f} ms, min {r["min"]*1e3:.2f} ms')
PY
  echo "== GET /v1/vms/NAME over one kept-alive connection (200 requests)"
  local args=()
  for _ in $(seq 200); do args+=(-o /dev/null "$url"); done
  "${C[@]}" -w '%{time_total}\n' "${args[@]}" > "$work/api-keepalive.txt"
  python3 - "$work/api-keepalive.txt" <<'PY'
import statistics, sys
t = sorted(float(x) * 1e3 for x in open(sys.argv[1]) if x.strip())
print(f'  {len(t)} requests: median {statistics.median(t):.3f} ms, p90 {t[int(len(t)*0.9)]:.3f} ms, max {t[-1]:.3f} ms')
PY
  echo "== lifecycle load at concurrency 16 (${BENCH_SECONDS:-10}s each), alternately without and with an events reader"
  local round
  for round in 1 2; do
    local w0 w1
    w0=$(proc_cpu_ms "$(pgrep -f "bangerd --home $home" | head -1)")
    load --scenario lifecycle --concurrency 16 --duration "${BENCH_SECONDS:-10}s" 2>&1 \
      | grep "units in" | sed "s/^ */  without ($round): /"
    w1=$(proc_cpu_ms "$(pgrep -f "bangerd --home $home" | head -1)")
    echo "  CPU during the run: bangerd $((w1 - w0)) ms"
    sleep "${BENCH_PAUSE:-5}"
    curl -sS -N --cert "$cert" --key "$key" --cacert "$ca" "https://127.0.0.1:$api_port/v1/events" 2>/dev/null \
      | python3 -u -c '
import json, sys, time
lat = []
for line in sys.stdin:
    if line.startswith("data: "):
        now = time.time_ns() // 1000
        lat.append(now - json.loads(line[6:])["at_us"])
        if len(lat) % 200 == 0:
            with open(sys.argv[1], "w") as f: f.write("\n".join(map(str, lat)))
' "$work/events-latency-$round.txt" &
    local reader=$!
    sleep 1 # the reader's stream opens (a benchmark's pause, not a test's sync)
    local d0 d1 r0 r1
    d0=$(proc_cpu_ms "$(pgrep -f "bangerd --home $home" | head -1)")
    r0=$(reader_cpu_ms "$api_port")
    local perf_pid=""
    if [ -n "${BENCH_PERF:-}" ] && [ "$round" = 1 ]; then
      # BENCH_PERF=1: where bangerd's CPU goes while it serves the reader.
      perf record -e cpu-clock -F 499 -g -o "$work/perf.data" -p "$(pgrep -f "bangerd --home $home" | head -1)" \
        -- sleep "${BENCH_SECONDS:-10}" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    load --scenario lifecycle --concurrency 16 --duration "${BENCH_SECONDS:-10}s" > "$work/events-load.txt" 2>&1
    if [ -n "$perf_pid" ]; then
      wait "$perf_pid" 2>/dev/null || true
      perf report -i "$work/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null \
        | grep -E "^ +[0-9]" | head -25 > "$work/perf-top.txt" || true
      sed 's/^/  perf: /' "$work/perf-top.txt"
    fi
    sleep 1
    d1=$(proc_cpu_ms "$(pgrep -f "bangerd --home $home" | head -1)")
    r1=$(reader_cpu_ms "$api_port")
    echo "  CPU during the run: bangerd $((d1 - d0)) ms, the reader (curl + python) $((r1 - r0)) ms"
    pkill -f "127.0.0.1:$api_port/v1/events" 2>/dev/null || true
    wait "$reader" 2>/dev/null || true
    grep "units in" "$work/events-load.txt" | sed "s/^ */  with    ($round): /"
    python3 - "$work/events-latency-$round.txt" <<'PY'
import sys
lat = sorted(int(x) for x in open(sys.argv[1]).read().split())
if not lat:
    print("  no events read"); sys.exit(0)
q = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] / 1e3
print(f'  delivery of {len(lat)} events: p50 {q(0.5):.2f} ms, p90 {q(0.9):.2f} ms, p99 {q(0.99):.2f} ms, max {lat[-1]/1e3:.2f} ms')
PY
    sleep "${BENCH_PAUSE:-5}"
  done
}
