#!/usr/bin/env bash
# tools/cluster-netns.sh: three hosts in network namespaces come up, each
# serves its own CLI, reaches the others' addresses and none of them from the
# root namespace; a killed bangerd restarts, a cut link drops the host off
# the switch and comes back; after cluster_down nothing of it is left.
# Usage: netns_test.sh BIN_DIR. Exit 77 (skipped) without root or iproute2.
# CLUSTER=1 (the default once `banger init` takes --cluster-ca) also checks
# that every host sees every host up; CLUSTER=0 makes standalone hosts.
set -euo pipefail
bin=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (network namespaces)"; exit 77; }
command -v ip >/dev/null || { echo "skipped: needs iproute2"; exit 77; }
command -v jq >/dev/null || { echo "skipped: needs jq"; exit 77; }
if [ -z "${CLUSTER:-}" ]; then
  if "$bin/banger" init --help 2>&1 | grep -q -- --cluster-ca; then CLUSTER=1; else CLUSTER=0; fi
fi
export CLUSTER
# shellcheck source=../../tools/cluster-netns.sh
source "$here/../../tools/cluster-netns.sh"

failures=0
check() { # DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
# A TCP connection to a closed port of host J from host I: refused when J
# is reachable, timed out when it is not (no ping needed).
reaches() {
  local out
  out=$(cluster_exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$(cluster_addr "$2")/9" 2>&1) || true
  [[ $out == *refused* ]]
}
not_reaches() { ! reaches "$@"; }
no_process_left() { ! pgrep -f "$1/" >/dev/null; }
answers() { cluster_cli "$1" -o json daemon status | grep -q '"helper_reachable": *true'; }
lists() { cluster_cli "$1" image ls >/dev/null; }
not_root_route() { ! ip route show | grep -q '^10\.77\.0\.'; }
# The interfaces the cluster makes (the switch's veths, each host's guest
# bridge and its VMs' taps) are all in its namespaces: none of those names
# appears in the root namespace unless it was there before. Named ones only:
# other tests add their own bridges and taps to the root namespace meanwhile.
root_links() { ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1 | sort; }
cluster_links() {
  local i
  {
    echo banger0 # every host's guest bridge (network.bridge's default)
    for i in $(seq 1 3); do
      echo "h$i"
      cluster_exec "$i" ip -o link | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -vx 'lo\|eth0'
    done
  } | sort -u
}
no_new_root_link() {
  comm -12 <(cluster_links) <(comm -13 <(echo "$before_links") <(root_links)) | grep -q . && return 1
  return 0
}

before_ns=$(ip netns list | wc -l)
before_links=$(root_links)
cluster_up "$bin" 3
tag_ns=$(cluster_ns 1)
echo "cluster of 3 up (CLUSTER=$CLUSTER) in $CLUSTER_WORK"

check "the root namespace has none of the cluster's interfaces" no_new_root_link
check "the root namespace has no route to the hosts" not_root_route
for i in 1 2 3; do
  check "h$i's daemon answers its CLI" answers "$i"
  check "h$i's guest subnet is 172.31.$((16 * i)).0/20" \
    bash -c "grep -q 'subnet *= *\"\\?172.31.$((16 * i)).0/20' '$(cluster_home "$i")/banger.conf'"
done
check "h1 reaches h2" reaches 1 2
check "h3 reaches h1" reaches 3 1
if [ "$CLUSTER" = 1 ]; then
  for i in 1 2 3; do check "h$i sees all hosts up" cluster_wait_all_up "$i"; done
fi

pid=$(cluster_daemon_pid 2)
cluster_stop 2
check "a stopped bangerd is stopped" bash -c "grep -q '^State:.*T' /proc/$pid/status"
cluster_resume 2
check "a resumed bangerd answers again" answers 2
client_reaches() {
  local out
  out=$(cluster_client_exec timeout 1 bash -c "exec 3<>/dev/tcp/$(cluster_addr "$1")/9" 2>&1) || true
  [[ $out == *refused* ]]
}
check "the switch namespace (where banger-load runs) reaches h3" client_reaches 3
fault_stops() { BANGER_FAULT_ACTION=stop BANGER_FAULT_HOST=h2 bash -c "$(cluster_fault_command)"; }
fault_stops
check "the fault command stops the host it is given" bash -c "grep -q '^State:.*T' /proc/$pid/status"
cluster_resume 2
cluster_kill 2
check "a killed bangerd is gone" bash -c "! kill -0 $pid 2>/dev/null"
check "h2's CLI fails while its daemon is down" bash -c "! ip netns exec $(cluster_ns 2) $bin/banger --home $(cluster_home 2) vm ls"
cluster_restart 2
check "a restarted bangerd answers" cluster_wait_ready 2
check "the restarted bangerd is a new process" test "$(cluster_daemon_pid 2)" != "$pid"

cluster_cut 3
check "a cut host is off the switch" not_reaches 1 3
check "a cut host still serves its own CLI" answers 3
cluster_restore 3
reachable=0
for _ in $(seq 1 50); do reaches 1 3 >/dev/null 2>&1 && { reachable=1; break; }; sleep 0.1; done
check "a restored host is back on the switch" test "$reachable" = 1
for i in 1 2 3; do check "h$i lists its images" lists "$i"; done

work=$CLUSTER_WORK
cluster_down
check "no namespace of the cluster is left" bash -c "! ip netns list | grep -q '^${tag_ns%-h1}'"
check "as many namespaces as before" test "$(ip netns list | wc -l)" -eq "$before_ns"
check "the work directory is removed" test ! -e "$work"
check "no process of the cluster is left" no_process_left "$work"
[ "$failures" -eq 0 ] || { echo "$failures checks failed"; exit 1; }
echo "all checks passed"
