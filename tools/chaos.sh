#!/usr/bin/env bash
# The chaos run: SIGKILL bangerd and banger-helper at random moments under a
# lifecycle load, restart each at once, then check that nothing was lost or
# left behind. Usage: tools/chaos.sh BIN_DIR (root: the helper makes a bridge,
# taps and VMM processes). Not part of `make test`; see BENCHMARKS.md.
#
# In a temporary home (fc-stub as firecracker; its own ports, bridge and
# subnet) it runs `banger-load --scenario lifecycle --reconnect --keep
# --record` with CHAOS_WORKERS clients, and meanwhile kills bangerd
# CHAOS_DAEMON_KILLS times and banger-helper CHAOS_HELPER_KILLS times in a
# seeded random order, each after a random pause of 100 ms to CHAOS_GAP_MS.
# A killed process is started again at once (and again whenever the new one
# exits, like a systemd Restart= loop); its restart latency runs from the
# kill until `banger daemon status` exits 0 (bangerd) or reports the helper
# reachable (banger-helper). Then, with the load stopped and both up:
#   lost        a VM whose create the daemon acknowledged is not listed, and
#               the load never sent its delete
#   resurrected a VM whose delete the daemon acknowledged is listed again
#   stuck       a VM still starting/stopping when CHAOS_SETTLE s have passed
#   stale-stage an idle VM that still shows an operation's stage
#   doctor      `banger doctor` reports findings (before and after clean-up)
#   unusable    a VM left behind that cannot be started and stopped again
#   delete      `vm rm` of a VM left behind fails
#   leftover    a VMM process, tap, run or VM directory is left after every
#               VM was deleted
#   restart     a restart took longer than CHAOS_RESTART_LIMIT_MS, needed more
#               than one start, or never served (CHAOS_GIVE_UP s)
#   crashed     bangerd or banger-helper exited without being killed
#   hung        a request of the load failed with timeout
# Prints a summary and exits 1 naming every violation; CHAOS_OUT=FILE writes
# the same as JSON, CHAOS_LOGS=DIR keeps the logs, the load's report and its
# record.
#   CHAOS_SEED (random)     seed of the kill order and pauses (and the load)
#   CHAOS_DAEMON_KILLS 15   CHAOS_HELPER_KILLS 5   CHAOS_WORKERS 6
#   CHAOS_GAP_MS 2000       CHAOS_TAIL 3 (s of load after the last restart)
#   CHAOS_RESTART_LIMIT_MS 3000   CHAOS_SETTLE 30   CHAOS_GIVE_UP 60
#   CHAOS_LOG_LEVEL info (daemon.log-level)
#
# One file on purpose (over ~400 lines): it is one run, read top to bottom
# (set up, kill and restart under load, settle, check, report), and every
# phase works on the same shell state (pids, the record, the violations).
set -euo pipefail
bin=$(cd "${1:?usage: tools/chaos.sh BIN_DIR}" && pwd)
seed=${CHAOS_SEED:-$((SRANDOM % 1000000))}
daemon_kills=${CHAOS_DAEMON_KILLS:-15}
helper_kills=${CHAOS_HELPER_KILLS:-5}
workers=${CHAOS_WORKERS:-6}
gap_ms=${CHAOS_GAP_MS:-2000}
tail_s=${CHAOS_TAIL:-3}
limit_ms=${CHAOS_RESTART_LIMIT_MS:-3000}
settle_s=${CHAOS_SETTLE:-30}
give_up_s=${CHAOS_GIVE_UP:-60}
log_level=${CHAOS_LOG_LEVEL:-info}

if [ "$(id -u)" -ne 0 ]; then
  echo "chaos: needs root (banger-helper creates a bridge, taps and VMM processes)" >&2
  exit 2
fi
for tool in jq ip; do
  command -v "$tool" >/dev/null || { echo "chaos: needs $tool" >&2; exit 2; }
done

work=$(mktemp -d -t banger-chaos-XXXXXX)
home="$work/home"
record="$work/record"
# Ports, bridge and subnet of this run only (not from the seed: two runs
# with one seed must not collide).
port=$((20000 + SRANDOM % 20000))
bridge="bgch$((SRANDOM % 100000))"
subnet="10.$((100 + SRANDOM % 100)).$((SRANDOM % 256)).0/24"
daemon_pid=""
helper_pid=""
load_pid=""

# Every VMM this home's helper started: their command lines name the home.
vmm_pids() {
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$home/run/vms/"; then
      echo "${p#/proc/}"
    fi
  done
}
# Taps of this run: on its bridge, or named after a VM it has seen.
our_taps() {
  local t id
  ls "/sys/class/net/$bridge/brif" 2>/dev/null || true
  for id in $(seen_ids); do
    t="tap-fc-${id:0:8}"
    [ -e "/sys/class/net/$t" ] && echo "$t"
  done
  return 0
}
seen_ids() {
  { [ -f "$record" ] && awk '{print $2}' "$record"; cat "$work/listed" 2>/dev/null; } | sort -u
}
cleanup() {
  local rc=$? p t
  trap - EXIT
  for p in $load_pid $daemon_pid $helper_pid; do kill -KILL "$p" 2>/dev/null || true; done
  for p in $load_pid $daemon_pid $helper_pid; do wait "$p" 2>/dev/null || true; done
  for p in $(vmm_pids); do kill -KILL "$p" 2>/dev/null || true; done
  for t in $(our_taps | sort -u); do ip link del "$t" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  if [ -n "${CHAOS_LOGS:-}" ]; then
    mkdir -p "$CHAOS_LOGS"
    cp -r "$home/logs/." "$CHAOS_LOGS/" 2>/dev/null || true
    cp "$record" "$work/load.json" "$work/load.out" "$CHAOS_LOGS/" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

banger() { "$bin/banger" --home "$home" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

"$bin/banger" init --home "$home" --vmm firecracker --port "$port" \
  --set "helper.port=$((port + 1))" --set "vmm.firecracker-bin=$bin/fc-stub" \
  --set "network.bridge=$bridge" --set "network.subnet=$subnet" \
  --set vmm.stop-grace=3s --set vmm.kill-grace=3s \
  --set "daemon.log-level=$log_level" >/dev/null
mkdir -p "$home/logs"

start_daemon() { "$bin/bangerd" --home "$home" 2>>"$home/logs/bangerd.log" & daemon_pid=$!; }
start_helper() { "$bin/banger-helper" --home "$home" 2>>"$home/logs/helper.log" & helper_pid=$!; }
daemon_serving() { banger daemon status >/dev/null 2>&1; }
helper_reachable() {
  banger -o json daemon status 2>/dev/null | jq -e '.helper_reachable == true' >/dev/null 2>&1
}

# -- what the run found -------------------------------------------------------
violations=()      # "kind: detail"
evidence=()        # lines that back them, printed after the summary
violation() { violations+=("$1: $2"); echo "chaos: VIOLATION $1: $2" >&2; }
# The last few log lines that mention $1 (a VM id or op_id).
evidence_for() {
  local what=$1 f
  for f in "$home/logs/bangerd.log" "$home/logs/helper.log"; do
    [ -f "$f" ] || continue
    grep -F -- "$what" "$f" | tail -n "${2:-3}" | sed "s|^|  $(basename "$f"): |" || true
  done
}
add_evidence() { local l; while IFS= read -r l; do [ -n "$l" ] && evidence+=("$l"); done; return 0; }

# -- start ---------------------------------------------------------------------
start_helper
start_daemon
deadline=$(( $(now_ms) + 20000 ))
until helper_reachable; do
  [ "$(now_ms)" -lt "$deadline" ] || { echo "chaos: helper and daemon never came up" >&2; exit 1; }
  sleep 0.05
done

echo "chaos: seed $seed, $workers workers, $daemon_kills bangerd and $helper_kills banger-helper kills, home $home"
"$bin/banger-load" --home "$home" --scenario lifecycle --concurrency "$workers" \
  --duration 24h --ramp-up 500ms --seed "$seed" --timeout 30s \
  --reconnect --keep --record "$record" --json "$work/load.json" >"$work/load.out" 2>&1 &
load_pid=$!
deadline=$(( $(now_ms) + 30000 ))
until grep -q '^created ' "$record" 2>/dev/null; do
  if ! kill -0 "$load_pid" 2>/dev/null || [ "$(now_ms)" -ge "$deadline" ]; then
    echo "chaos: the load did not start:" >&2; cat "$work/load.out" >&2; exit 1
  fi
  sleep 0.05
done

# -- the kills -----------------------------------------------------------------
RANDOM=$seed
schedule=()
for _ in $(seq 1 "$daemon_kills"); do schedule+=(bangerd); done
for _ in $(seq 1 "$helper_kills"); do schedule+=(banger-helper); done
for ((i = ${#schedule[@]} - 1; i > 0; i--)); do   # Fisher-Yates, seeded
  j=$((RANDOM % (i + 1)))
  t=${schedule[i]}; schedule[i]=${schedule[j]}; schedule[j]=$t
done
pauses=()
for _ in "${schedule[@]}"; do pauses+=($((100 + RANDOM % (gap_ms > 100 ? gap_ms - 99 : 1)))); done

starts=1
restarts_json="$work/restarts.jsonl"
: >"$restarts_json"
for k in "${!schedule[@]}"; do
  what=${schedule[k]}
  sleep "$(printf '%d.%03d' $((pauses[k] / 1000)) $((pauses[k] % 1000)))"
  if [ "$what" = bangerd ]; then victim=$daemon_pid; else victim=$helper_pid; fi
  if ! kill -0 "$victim" 2>/dev/null; then
    violation crashed "$what (pid $victim) had exited before kill $((k + 1))"
  fi
  t0=$(now_ms)
  kill -KILL "$victim" 2>/dev/null || true
  wait "$victim" 2>/dev/null || true
  starts=1
  if [ "$what" = bangerd ]; then start_daemon; else start_helper; fi
  served=""
  while :; do
    if [ "$what" = bangerd ]; then daemon_serving && served=1; else helper_reachable && served=1; fi
    [ -n "$served" ] && break
    if [ "$what" = bangerd ]; then p=$daemon_pid; else p=$helper_pid; fi
    if ! kill -0 "$p" 2>/dev/null; then   # it gave up (e.g. cannot bind): again
      wait "$p" 2>/dev/null || true
      starts=$((starts + 1))
      if [ "$what" = bangerd ]; then start_daemon; else start_helper; fi
    fi
    [ $(( $(now_ms) - t0 )) -lt $((give_up_s * 1000)) ] || break
    sleep 0.02
  done
  ms=$(( $(now_ms) - t0 ))
  # The next kill only once both serve again (a kill of a half-started pair
  # would measure the previous restart).
  ready_deadline=$(( $(now_ms) + give_up_s * 1000 ))
  until helper_reachable || [ "$(now_ms)" -ge "$ready_deadline" ]; do sleep 0.02; done
  ready_ms=$(( $(now_ms) - t0 ))
  printf '{"n":%d,"target":"%s","pause_ms":%d,"serving_ms":%d,"ready_ms":%d,"starts":%d,"served":%s}\n' \
    $((k + 1)) "$what" "${pauses[k]}" "$ms" "$ready_ms" "$starts" "$([ -n "$served" ] && echo true || echo false)" >>"$restarts_json"
  printf 'chaos: kill %2d/%d %-13s serving after %5d ms (ready %5d ms, %d start%s)\n' \
    $((k + 1)) "${#schedule[@]}" "$what" "$ms" "$ready_ms" "$starts" "$([ "$starts" -gt 1 ] && echo s)"
  if [ -z "$served" ]; then
    violation restart "$what did not serve within ${give_up_s}s of kill $((k + 1)) ($starts starts)"
    add_evidence < <(evidence_for "cannot listen" 2)
    break
  fi
  [ "$ms" -le "$limit_ms" ] || violation restart "$what kill $((k + 1)) served after $ms ms (limit $limit_ms)"
  [ "$starts" -eq 1 ] || violation restart "$what kill $((k + 1)) needed $starts starts"
done
if [ "$starts" -gt 1 ] || grep -q 'cannot listen' "$home/logs/bangerd.log" "$home/logs/helper.log" 2>/dev/null; then
  add_evidence < <(grep -h 'cannot listen' "$home/logs/bangerd.log" "$home/logs/helper.log" 2>/dev/null | tail -n 2 | sed 's/^/  /')
fi

sleep "$tail_s"
kill -INT "$load_pid" 2>/dev/null || true
deadline=$(( $(now_ms) + 90000 ))
while kill -0 "$load_pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
if kill -0 "$load_pid" 2>/dev/null; then
  violation load "banger-load did not stop within 90 s of SIGINT"
  kill -KILL "$load_pid" 2>/dev/null || true
fi
wait "$load_pid" 2>/dev/null || true
load_pid=""
echo "chaos: load stopped; checking"

# -- checks --------------------------------------------------------------------
deadline=$(( $(now_ms) + settle_s * 1000 ))
until helper_reachable || [ "$(now_ms)" -ge "$deadline" ]; do sleep 0.05; done
helper_reachable || violation restart "bangerd or banger-helper does not serve after the load"
list_vms() { banger -o json vm ls >"$work/vms.json" 2>"$work/vms.err"; }

# Recovery gets CHAOS_SETTLE s to finish what the kills interrupted: until
# no VM is starting/stopping or shows an operation's stage.
busy=""
while :; do
  if list_vms; then
    busy=$(jq -r '.vms[] | select(.state == "starting" or .state == "stopping" or .stage != "")
                  | "\(.id) \(.name) \(.state) \(.stage)"' "$work/vms.json")
    [ -z "$busy" ] && break
  fi
  [ "$(now_ms)" -lt "$deadline" ] || break
  sleep 0.2
done
list_vms || { violation list "vm ls failed: $(cat "$work/vms.err")"; echo '{"vms":[]}' >"$work/vms.json"; }
# Still busy: an operation of the running bangerd that never ended is stuck;
# a stage left by an operation that ended, or that died with an earlier
# bangerd, is stale.
: >"$work/stuck"
serving_since=$(grep -F '"msg":"bangerd serving"' "$home/logs/bangerd.log" | tail -n 1 | jq -r .ts)
while read -r id name state stage; do
  [ -n "$id" ] || continue
  last=$(grep -F "\"vm_id\":\"$id\"" "$home/logs/bangerd.log" | tail -n 1)
  last_msg=$(jq -r .msg <<<"$last" 2>/dev/null || true)
  last_ts=$(jq -r .ts <<<"$last" 2>/dev/null || true)
  ended=""
  case "$last_msg" in "operation completed" | "operation failed") ended=1 ;; esac
  [[ "$last_ts" < "$serving_since" ]] && ended=1
  if [ "$state" = starting ] || [ "$state" = stopping ] || [ -z "$ended" ]; then
    echo "$id" >>"$work/stuck"
    violation stuck "$name ($id) still $state at stage ${stage:--} ${settle_s}s after the load (its last log line: $last_msg at $last_ts)"
  else
    violation stale-stage "$name ($id) is $state but shows stage '$stage' (its last log line: $last_msg at $last_ts)"
  fi
  add_evidence < <(evidence_for "$id" 2)
done <<<"$busy"

jq -r '.vms[].id' "$work/vms.json" | sort -u >"$work/listed"
awk '$1 == "created" {print $2}' "$record" | sort -u >"$work/created"
awk '$1 == "delete" {print $2}' "$record" | sort -u >"$work/delete_sent"
awk '$1 == "deleted" {print $2}' "$record" | sort -u >"$work/deleted"
awk '$1 == "delete_not_found" {print $2}' "$record" | sort -u >"$work/not_found"
# Acknowledged, not listed, its delete never sent: lost. Its delete found
# nothing: lost before the delete came.
comm -23 "$work/created" "$work/listed" | comm -23 - "$work/delete_sent" >"$work/lost"
cat "$work/not_found" >>"$work/lost"
while read -r id; do
  [ -n "$id" ] || continue
  violation lost "VM $id ($(awk -v id="$id" '$1 == "created" && $2 == id {print $3 ", create " $4}' "$record")) is gone though its create was acknowledged"
  add_evidence < <(evidence_for "$id" 4)
done <"$work/lost"
comm -12 "$work/deleted" "$work/listed" >"$work/resurrected"
while read -r id; do
  [ -n "$id" ] || continue
  violation resurrected "VM $id is listed though its delete was acknowledged"
  add_evidence < <(evidence_for "$id")
done <"$work/resurrected"
# Deleted while the daemon died (delete sent, never answered, VM gone): fine.
comm -23 "$work/created" "$work/listed" | comm -12 - "$work/delete_sent" |
  comm -23 - "$work/deleted" | comm -23 - "$work/not_found" >"$work/unanswered_deletes"
# Created while the daemon died (listed, never acknowledged): fine if usable.
jq -r '.vms[] | select(.name | startswith("ld")) | .id' "$work/vms.json" | sort -u |
  comm -23 - "$work/created" >"$work/unanswered_creates"

doctor_check() {   # $1: when
  local rc=0
  banger -o json doctor >"$work/doctor.json" 2>"$work/doctor.err" || rc=$?
  if ! jq -e . "$work/doctor.json" >/dev/null 2>&1; then
    violation doctor "$1: banger doctor failed (exit $rc): $(cat "$work/doctor.err")"
    return 0
  fi
  jq -r '.findings[] | "\(.kind) \(.object): \(.detail)"' "$work/doctor.json" >"$work/findings"
  while IFS= read -r f; do violation doctor "$1: $f"; done <"$work/findings"
  return 0
}
doctor_check "after the load"

# Every VM left behind must still work: start (unless running), stop, delete.
cli_error() { jq -r '(.results[0].error // .error) | "\(.code): \(.message) (\(.op_id))"' <<<"$1" 2>/dev/null || echo "$1"; }
# A create that was never acknowledged may still roll back by itself: its
# VM goes (not_found) while it is checked. One that was acknowledged is lost.
rolled_back() {   # $1 id, $2 the CLI's JSON answer
  [ "$(jq -r '(.results[0].error // .error).code' <<<"$2" 2>/dev/null)" = not_found ] || return 1
  if grep -qx "$1" "$work/created"; then
    violation lost "VM $1 went away while it was checked, though its create was acknowledged"
  fi
  return 0
}
mapfile -t left < <(jq -r '.vms[] | "\(.id) \(.name) \(.state)"' "$work/vms.json")
for line in "${left[@]}"; do
  read -r id name state <<<"$line"
  if grep -qx "$id" "$work/stuck"; then
    : # its operation is still running; only the delete below
  elif [ "$state" != running ]; then
    if ! out=$(banger -o json vm start "$id" 2>&1); then
      rolled_back "$id" "$out" && continue
      violation unusable "$name ($id, $state): vm start: $(cli_error "$out")"
      add_evidence < <(evidence_for "$id" 2)
    fi
  fi
  if ! grep -qx "$id" "$work/stuck" && ! out=$(banger -o json vm stop "$id" 2>&1); then
    rolled_back "$id" "$out" && continue
    violation unusable "$name ($id): vm stop: $(cli_error "$out")"
  fi
  if ! out=$(banger -o json vm rm "$id" 2>&1); then
    rolled_back "$id" "$out" && continue
    violation delete "$name ($id): vm rm: $(cli_error "$out")"
    add_evidence < <(evidence_for "$id" 2)
  fi
done
doctor_check "after deleting every VM"
if ! list_vms || [ "$(jq '.vms | length' "$work/vms.json")" -ne 0 ]; then
  violation delete "$(jq '.vms | length' "$work/vms.json" 2>/dev/null || echo '?') VMs still listed after vm rm of all"
fi

# Nothing of the VMs may stay on the host (tap removal is asynchronous; the
# doctor round trip above waited for it, the deadline covers the rest).
deadline=$(( $(now_ms) + 10000 ))
while :; do
  leftover=()
  for p in $(vmm_pids); do leftover+=("VMM process $p: $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")"); done
  for t in $(our_taps | sort -u); do leftover+=("tap $t"); done
  for d in "$home"/run/vms/* "$home"/state/vms/*; do [ -e "$d" ] && leftover+=("directory ${d#"$home"/}"); done
  [ ${#leftover[@]} -eq 0 ] || [ "$(now_ms)" -ge "$deadline" ] && break
  sleep 0.2
done
for l in "${leftover[@]}"; do violation leftover "$l"; done
for p in "$daemon_pid:bangerd" "$helper_pid:banger-helper"; do
  kill -0 "${p%%:*}" 2>/dev/null || violation crashed "${p#*:} exited on its own after the last kill"
done

# A request that failed with timeout hung somewhere: the load gave up after
# 30 s, or the daemon waited out its helper deadline (10 s, 120 s).
while IFS=$'\t' read -r op n ids; do
  [ -n "$op" ] || continue
  violation hung "$n $op requests failed with timeout (a deadline passed: no answer from the helper or the daemon; e.g. $ids)"
  for id in $ids; do add_evidence < <(evidence_for "$id" 2); done
done < <(jq -r '.operations // {} | to_entries[] | select(.value.errors_by_code.timeout)
  | [.key, .value.errors_by_code.timeout.count, (.value.errors_by_code.timeout.op_ids[0:2] | join(" "))]
  | @tsv' "$work/load.json" 2>/dev/null)

# -- summary ---------------------------------------------------------------------
commit=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --short HEAD 2>/dev/null || echo unknown)
stats() {   # min median max of serving_ms for target $1
  jq -s --arg t "$1" '[.[] | select(.target == $t) | .serving_ms] | sort
    | if length == 0 then {count: 0} else
      {count: length, min: .[0], median: .[length / 2 | floor], max: .[-1]} end' "$restarts_json"
}
load_json=$(cat "$work/load.json" 2>/dev/null || echo '{}')
count() { grep -c . "$1" || true; }
printf '%s\n' "${evidence[@]}" >"$work/evidence"
jq -n --arg commit "$commit" --argjson seed "$seed" --argjson workers "$workers" \
  --argjson bangerd "$(stats bangerd)" --argjson helper "$(stats banger-helper)" \
  --slurpfile restarts "$restarts_json" --argjson load "$load_json" \
  --argjson created "$(count "$work/created")" --argjson left "${#left[@]}" \
  --argjson unanswered_creates "$(count "$work/unanswered_creates")" \
  --argjson unanswered_deletes "$(count "$work/unanswered_deletes")" \
  --argjson limit "$limit_ms" \
  --argjson evidence "$(head -n 300 "$work/evidence" | jq -R . | jq -s .)" \
  --args '{commit: $commit, seed: $seed, workers: $workers, restart_limit_ms: $limit,
    restarts: {bangerd: $bangerd, "banger-helper": $helper,
               more_than_one_start: ([$restarts[] | select(.starts > 1)] | length),
               all: $restarts},
    load: {units: $load.units, failed_units: $load.failed_units, seconds: $load.seconds,
           reconnects: $load.reconnects,
           errors_by_code: ([$load.operations // {} | to_entries[] | .key as $op
             | .value.errors_by_code | to_entries[] | {op: $op, code: .key, count: .value.count,
               op_ids: .value.op_ids}])},
    vms: {created_acknowledged: $created, left_after_load: $left,
          created_unacknowledged: $unanswered_creates, deleted_unacknowledged: $unanswered_deletes},
    violations: $ARGS.positional, evidence: $evidence}' "${violations[@]}" >"$work/chaos.json"
[ -z "${CHAOS_OUT:-}" ] || cp "$work/chaos.json" "$CHAOS_OUT"

echo
echo "== chaos summary (commit $commit, seed $seed)"
lat() { jq -r --arg t "$1" '.restarts[$t] | "\(.count) (serving ms min / median / max: \(.min) / \(.median) / \(.max))"' "$work/chaos.json"; }
echo "restarts: bangerd $(lat bangerd), banger-helper $(lat banger-helper)"
jq -r '"  \(.restarts.more_than_one_start) needed more than one start; limit \(.restart_limit_ms) ms",
  "load: \(.load.units) lifecycles done, \(.load.failed_units) failed, \(.load.reconnects) reconnects in \(.load.seconds | floor) s",
  "vms: \(.vms.created_acknowledged) creates acknowledged, \(.vms.left_after_load) left after the load,",
  "  \(.vms.created_unacknowledged) created but never acknowledged, \(.vms.deleted_unacknowledged) deleted but never acknowledged",
  "errors seen by the load:",
  (.load.errors_by_code[] | "  \(.op) \(.code): \(.count) (e.g. \(.op_ids[0:2] | join(" ")))")' \
  "$work/chaos.json"
# Log lines of the sample op_ids of every error that is not the lost connection.
for id in $(jq -r '.load.errors_by_code[] | select(.code != "daemon_unreachable" and .code != "timeout")
                   | .op_ids[0:2][]' "$work/chaos.json"); do
  add_evidence < <(evidence_for "$id" 1)
done
if [ ${#evidence[@]} -gt 0 ]; then
  echo "evidence (last log lines per VM or op_id; ${#evidence[@]} lines, the first 60):"
  printf '%s\n' "${evidence[@]}" >"$work/evidence"
  head -n 60 "$work/evidence" | cut -c1-300
fi
if [ ${#violations[@]} -gt 0 ]; then
  echo "VIOLATIONS (${#violations[@]}): $(printf '%s\n' "${violations[@]}" | cut -d: -f1 | sort | uniq -c |
    awk '{printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1}')"
  printf '%s\n' "${violations[@]}" | awk -F: '{ n[$1]++; if (n[$1] <= 6) print "  " $0;
    else if (n[$1] == 7) print "  " $1 ": ... (all of them in CHAOS_OUT)" }'
  exit 1
fi
echo "no violations"
