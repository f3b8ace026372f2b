# shellcheck shell=bash
# A cluster of banger hosts on one machine, each host a network namespace.
# Sourced by tools/demo-cluster.sh, tools/bench.sh (BENCH_ONLY=cluster) and
# tests/cluster/netns_test.sh; needs root and iproute2.
#
#   cluster_up BIN_DIR N      N hosts h1..hN, each with its own home, helper,
#                             bangerd and fc-stub VMs, all up and answering
#   cluster_cli I ARGS...     the banger CLI of host I, inside its namespace
#   cluster_kill I            SIGKILL host I's bangerd
#   cluster_stop I / cluster_resume I   SIGSTOP / SIGCONT it (a hung host)
#   cluster_restart I         start host I's bangerd again (after a kill)
#   cluster_cut I / cluster_restore I   take its link to the switch down / up
#   cluster_down              stop everything and remove every namespace
#   cluster_client_exec CMD   run CMD in the switch namespace (10.77.0.254),
#                             which reaches every host, e.g. banger-load
#   cluster_fault_command     a shell command that kills or stops the host
#                             banger-load's --kill-host / --stop-host names
#
# Layout: a switch namespace holds a bridge; host I's namespace has eth0
# (10.77.0.I/24), the peer of veth hI in the switch namespace, enslaved to
# that bridge. Every link is created inside the namespaces (`ip -n`), so the
# root namespace never sees an interface, route or rule of the cluster.
# Guest subnets are 172.31.16*I.0/20, one per host (room for 4,000 VMs
# each, which the benchmark of vm ls fills), so they never overlap.
#
# CLUSTER=1 (default) makes the homes members of one cluster: a cluster CA
# (`banger cluster ca`), `banger init --cluster-ca CA --host-id hI` and
# cluster.hosts listing every host's link address 10.77.0.I:CLUSTER_LINK_PORT.
# CLUSTER=0 makes N standalone hosts (plain `banger init`) on the same network.
#
# Variables read: CLUSTER (1), CLUSTER_LINK_PORT (7430), CLUSTER_LOG_LEVEL
# (info), CLUSTER_SET (extra `--set K=V` for every init, space-separated),
# CLUSTER_PUBLIC_CLI (0; 1: each daemon.listen is its host's 10.77.0.I, so a
# client in the switch namespace reaches every CLI port, still mutual TLS).
# Variables set: CLUSTER_WORK (the work directory: homes, logs), CLUSTER_N,
# CLUSTER_HOSTS (the cluster.hosts value). cluster_up installs an EXIT trap
# that calls cluster_down; a script with its own clean-up sets
# CLUSTER_ON_EXIT to a function name run first, with the exit status as $1.

CLUSTER=${CLUSTER:-1}
CLUSTER_LINK_PORT=${CLUSTER_LINK_PORT:-7430}
CLUSTER_N=0
CLUSTER_WORK=""
CLUSTER_HOSTS=""
cluster__tag=""
cluster__bin=""
cluster__port=""
cluster__daemon_pid=()
cluster__helper_pid=()

cluster_ns() { echo "${cluster__tag}-h$1"; }
cluster__switch() { echo "${cluster__tag}-sw"; }
cluster_home() { echo "$CLUSTER_WORK/h$1/home"; }
cluster_log() { echo "$CLUSTER_WORK/h$1/$2.log"; } # I bangerd|helper
cluster_addr() { echo "10.77.0.$1"; }
cluster_id() { echo "h$1"; }
cluster_daemon_pid() { echo "${cluster__daemon_pid[$1]:-}"; }

cluster__fail() {
  echo "cluster-netns: $*" >&2
  return 1
}

cluster_cli() { # I ARGS...
  local i=$1
  shift
  ip netns exec "$(cluster_ns "$i")" "$cluster__bin/banger" --home "$(cluster_home "$i")" "$@"
}

# Runs a command inside host I's namespace (e.g. banger-load against it).
cluster_exec() { # I COMMAND...
  local i=$1
  shift
  ip netns exec "$(cluster_ns "$i")" "$@"
}

cluster__network() {
  local sw i ns
  sw=$(cluster__switch)
  ip netns add "$sw" || return 1
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  ip -n "$sw" addr add 10.77.0.254/24 dev br0
  for i in $(seq 1 "$CLUSTER_N"); do
    ns=$(cluster_ns "$i")
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    ip -n "$sw" link add "h$i" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$sw" link set "h$i" master br0 up
    ip -n "$ns" addr add "$(cluster_addr "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

cluster__init_home() { # I
  local i=$1 home args=()
  home=$(cluster_home "$i")
  mkdir -p "$CLUSTER_WORK/h$i"
  args=(init --port "$cluster__port" --set "helper.port=$((cluster__port + 1))"
    --set "network.subnet=172.31.$((16 * i)).0/20" --set "vmm.firecracker-bin=$cluster__bin/fc-stub"
    --set network.nat=false --set vmm.stop-grace=5s
    --set "daemon.log-level=${CLUSTER_LOG_LEVEL:-info}")
  if [ "${CLUSTER_PUBLIC_CLI:-0}" = 1 ]; then args+=(--set "daemon.listen=$(cluster_addr "$i")"); fi
  if [ "$CLUSTER" = 1 ]; then
    args+=(--cluster-ca "$CLUSTER_WORK/ca" --host-id "h$i" --set "cluster.hosts=$CLUSTER_HOSTS")
  fi
  local extra
  for extra in ${CLUSTER_SET:-}; do args+=(--set "$extra"); done
  "$cluster__bin/banger" --home "$home" "${args[@]}" >"$CLUSTER_WORK/h$i/init.log" 2>&1 ||
    { cat "$CLUSTER_WORK/h$i/init.log" >&2; cluster__fail "banger init of h$i failed"; }
}

# Starts host I's bangerd in its namespace (its helper must be running).
cluster_restart() { # I
  local i=$1
  ip netns exec "$(cluster_ns "$i")" "$cluster__bin/bangerd" --home "$(cluster_home "$i")" \
    2>>"$(cluster_log "$i" bangerd)" &
  cluster__daemon_pid[i]=$!
  echo "$!" >"$CLUSTER_WORK/h$i/bangerd.pid"
}

# Waits (up to 20 s) until host I's daemon answers and reaches its helper.
cluster_wait_ready() { # I
  local i=$1 _
  for _ in $(seq 1 400); do
    if cluster_cli "$i" -o json daemon status 2>/dev/null | grep -q '"helper_reachable": *true'; then
      return 0
    fi
    if ! kill -0 "${cluster__daemon_pid[$i]}" 2>/dev/null; then
      tail -5 "$(cluster_log "$i" bangerd)" >&2
      cluster__fail "bangerd of h$i exited"
      return 1
    fi
    sleep 0.05
  done
  tail -5 "$(cluster_log "$i" bangerd)" >&2
  cluster__fail "bangerd of h$i did not answer within 20 s"
}

# Waits (up to 20 s) until host I's `cluster status` shows every host up.
cluster_wait_all_up() { # I
  local i=$1 _
  for _ in $(seq 1 200); do
    if [ "$(cluster_cli "$i" -o json cluster status 2>/dev/null |
      jq '[.hosts[] | select(.state == "up")] | length' 2>/dev/null)" = "$CLUSTER_N" ]; then
      return 0
    fi
    sleep 0.1
  done
  cluster__fail "h$i does not see all $CLUSTER_N hosts up within 20 s"
}

cluster_up() { # BIN_DIR N
  cluster__bin=$(cd "$1" && pwd) || return 1
  CLUSTER_N=$2
  [ "$(id -u)" -eq 0 ] || { cluster__fail "needs root (network namespaces)"; return 1; }
  if [ "$CLUSTER_N" -lt 1 ] || [ "$CLUSTER_N" -gt 200 ]; then cluster__fail "1 to 200 hosts"; return 1; fi
  CLUSTER_WORK=$(mktemp -d -t banger-cluster-XXXXXX)
  # A tag unique to this run: several clusters may share the machine.
  cluster__tag="bgc$(basename "$CLUSTER_WORK" | tail -c 7 | tr -dc 'a-zA-Z0-9')"
  cluster__port=$((20000 + RANDOM % 20000))
  trap 'cluster__on_exit' EXIT
  trap 'exit 130' INT TERM
  local i hosts=()
  for i in $(seq 1 "$CLUSTER_N"); do hosts+=("h$i=$(cluster_addr "$i"):$CLUSTER_LINK_PORT"); done
  CLUSTER_HOSTS=$(IFS=,; echo "${hosts[*]}")
  cluster__network || { cluster__fail "cannot make the namespaces"; return 1; }
  if [ "$CLUSTER" = 1 ]; then
    "$cluster__bin/banger" cluster ca "$CLUSTER_WORK/ca" >"$CLUSTER_WORK/ca.log" 2>&1 ||
      { cat "$CLUSTER_WORK/ca.log" >&2; cluster__fail "banger cluster ca failed"; return 1; }
  fi
  for i in $(seq 1 "$CLUSTER_N"); do
    cluster__init_home "$i" || return 1
    ip netns exec "$(cluster_ns "$i")" "$cluster__bin/banger-helper" --home "$(cluster_home "$i")" \
      2>"$(cluster_log "$i" helper)" &
    cluster__helper_pid[i]=$!
    cluster_restart "$i"
  done
  for i in $(seq 1 "$CLUSTER_N"); do cluster_wait_ready "$i" || return 1; done
  if [ "$CLUSTER" = 1 ]; then
    for i in $(seq 1 "$CLUSTER_N"); do cluster_wait_all_up "$i" || return 1; done
  fi
  return 0
}

cluster_kill() { kill -KILL "${cluster__daemon_pid[$1]}"; wait "${cluster__daemon_pid[$1]}" 2>/dev/null || true; }
cluster_stop() { kill -STOP "${cluster__daemon_pid[$1]}"; }
cluster_resume() { kill -CONT "${cluster__daemon_pid[$1]}"; }
# The switch's end goes down: host I's eth0 loses its carrier and its
# packets go nowhere, as with a pulled cable (no error reaches the sender).
cluster_cut() { ip -n "$(cluster__switch)" link set "h$1" down; }
cluster_restore() { ip -n "$(cluster__switch)" link set "h$1" up; }

cluster_client_exec() { ip netns exec "$(cluster__switch)" "$@"; }

# For banger-load --fault-command: the bangerd of $BANGER_FAULT_HOST (an id
# hI) gets SIGKILL or SIGSTOP as $BANGER_FAULT_ACTION says.
cluster_fault_command() {
  # shellcheck disable=SC2016 # expanded when banger-load runs it
  printf 'p=$(cat %q/${BANGER_FAULT_HOST}/bangerd.pid) && case $BANGER_FAULT_ACTION in kill) kill -KILL $p ;; stop) kill -STOP $p ;; esac' "$CLUSTER_WORK"
}

cluster_down() {
  [ -n "$cluster__tag" ] || return 0
  local i ns p
  # A stopped daemon cannot take a SIGTERM.
  for p in "${cluster__daemon_pid[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  for p in "${cluster__daemon_pid[@]}" "${cluster__helper_pid[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${cluster__daemon_pid[@]}" "${cluster__helper_pid[@]}"; do wait "$p" 2>/dev/null || true; done
  for i in $(seq 1 "$CLUSTER_N"); do
    ns=$(cluster_ns "$i")
    # Whatever still runs in the namespace (VMM processes the daemons leave
    # running by design) goes with it.
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  ip netns del "$(cluster__switch)" 2>/dev/null || true
  [ -n "$CLUSTER_WORK" ] && rm -rf "$CLUSTER_WORK"
  cluster__tag=""
  cluster__daemon_pid=()
  cluster__helper_pid=()
}

cluster__on_exit() {
  local rc=$?
  if [ -n "${CLUSTER_ON_EXIT:-}" ]; then "$CLUSTER_ON_EXIT" "$rc" || true; fi
  cluster_down
  exit "$rc"
}
