#!/usr/bin/env bash
# `make demo-cluster`: three banger hosts on this machine, each a network
# namespace with its own helper, bangerd and fc-stub VMs (tools/cluster-netns.sh),
# one cluster: a VM created on h3 from h1, driven from h2, h3's bangerd
# killed and shown down from h1, then back with its VM. Step by step like
# `make demo`; exits non-zero at the first failing step, naming it; removes
# every namespace and file it made.
set -euo pipefail
bin=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
failed_step=""

if [ "$(id -u)" -ne 0 ]; then
  echo "make demo-cluster needs root: it makes network namespaces, and banger-helper bridges and taps" >&2
  exit 1
fi
command -v jq >/dev/null || { echo "make demo-cluster needs jq (apt-get install jq)" >&2; exit 1; }
# shellcheck source=cluster-netns.sh
source "$here/cluster-netns.sh"

on_exit() {
  local rc=$1 i log
  [ -n "$failed_step" ] && [ "$rc" -ne 0 ] || return 0
  printf '\n\033[1;31mdemo-cluster failed at: %s\033[0m\n' "$failed_step" >&2
  for i in 1 2 3; do
    for log in bangerd helper; do
      [ -s "$(cluster_log "$i" "$log")" ] || continue
      echo "--- h$i $log.log, last lines" >&2
      tail -5 "$(cluster_log "$i" "$log")" >&2
    done
  done
}
CLUSTER_ON_EXIT=on_exit
step() { failed_step="$*"; printf '\n\033[1m== %s\033[0m\n' "$*"; }
# `on HOST ARGS...`: the banger CLI as a user on that host runs it.
on() {
  local i=${1#h}
  shift
  printf '\033[2m%s$ banger %s\033[0m\n' "h$i" "$*"
  cluster_cli "$i" "$@"
}
# The state host I sees host J in.
state_of() { cluster_cli "$1" -o json cluster status | jq -r --arg id "h$2" '.hosts[] | select(.id == $id) | .state'; }
wait_state() { # I J STATE SECONDS
  local t0 _ s
  t0=$(date +%s%N)
  for _ in $(seq 1 $(($4 * 20))); do
    s=$(state_of "$1" "$2" 2>/dev/null || true)
    if [ "$s" = "$3" ]; then
      echo "h$1 sees h$2 $3 after $((($(date +%s%N) - t0) / 1000000)) ms"
      return 0
    fi
    sleep 0.05
  done
  echo "h$1 still sees h$2 as '${s:-?}' after $4 s, not $3" >&2
  return 1
}

step "three hosts h1 h2 h3: namespaces on a private bridge, a cluster CA, a home per host, helper + bangerd in each"
cluster_up "$bin" 3
for i in 1 2 3; do echo "h$i  $(cluster_addr "$i")  home $(cluster_home "$i")"; done

step "cluster status from h1: every host up"
on h1 cluster status

step "an image on every host (tiny files: fc-stub VMs run no guest)"
printf 'kernel' >"$CLUSTER_WORK/vmlinux"
head -c 65536 /dev/zero >"$CLUSTER_WORK/rootfs.ext4"
for i in 1 2 3; do
  cluster_cli "$i" image add stub --kernel "$CLUSTER_WORK/vmlinux" --rootfs "$CLUSTER_WORK/rootfs.ext4" >/dev/null
done
on h1 image ls

step "create a VM on h3 from h1"
on h1 vm create --image stub --name web1 --host h3

step "list it from h2: the HOST column says h3"
on h2 vm ls
host=$(cluster_cli 2 -o json vm ls | jq -r '.vms[] | select(.name == "web1") | .host')
[ "$host" = h3 ] || { echo "web1 is listed on host '$host', not h3" >&2; exit 1; }

step "start, stop and start it again from h2"
on h2 vm start web1
on h2 vm stop web1
on h2 vm start web1
on h2 vm show web1 | grep -E "^(name|host|state|pid)"

step "SIGKILL h3's bangerd: h1 shows h3 down"
cluster_kill 3
wait_state 1 3 down 5
on h1 cluster status
on h1 vm ls

step "restart h3's bangerd: it rejoins, and its VM is back"
cluster_restart 3
cluster_wait_ready 3
wait_state 1 3 up 20
on h1 cluster status
on h1 vm ls
state=$(cluster_cli 1 -o json vm show web1 | jq -r .state)
[ "$state" = running ] || { echo "web1 is $state after h3's restart, not running" >&2; exit 1; }

step "delete the VM from h1"
on h1 vm rm web1
on h2 vm ls

step "tear down: bangerd, helpers, fc-stub processes, namespaces, homes"
cluster_down
failed_step=""
echo "done: nothing of the cluster is left"
