#!/usr/bin/env bash
# `make demo`: a real VM's lifecycle through banger, step by step, in a
# temporary home: init, helper + daemon, an image built from Debian packages,
# a guest booted under QEMU, a command over SSH, a graceful stop, delete.
# Exits non-zero at the first failing step; removes everything it made.
set -euo pipefail
bin=$(cd "$1" && pwd)
work=$(mktemp -d -t banger-demo-XXXXXX)
home="$work/home"
bridge="bgdemo$((RANDOM % 100))"
pids=()
failed_step=""
cleanup() {
  local rc=$?
  if [ -n "$failed_step" ] && [ $rc -ne 0 ]; then
    printf '\n\033[1;31mdemo failed at: %s\033[0m\n' "$failed_step" >&2
    for log in "$work"/bangerd.log "$work"/helper.log; do
      [ -s "$log" ] && { echo "--- last lines of $(basename "$log")" >&2; tail -5 "$log" >&2; }
    done
  fi
  # The daemon leaves running VMs running by design; kill what this home runs.
  for p in $(pgrep -f "$home/run/vms/" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for t in $(ls "/sys/class/net/$bridge/brif" 2>/dev/null); do ip link del "$t" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
step() { failed_step="$*"; printf '\n\033[1m== %s\033[0m\n' "$*"; }
banger() { "$bin/banger" --home "$home" "$@"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "make demo needs root: banger-helper creates a bridge, taps and VMM processes" >&2
  exit 1
fi
port=$((20000 + RANDOM % 20000))

step "banger init: a fresh home with its own CA, certificates, credential and SSH key"
banger init --vmm qemu --port "$port" --set "api.port=$((port + 2))" \
  --set "network.bridge=$bridge" --set "network.subnet=10.231.$((RANDOM % 200)).0/24" \
  --set vmm.stop-grace=30s

step "start banger-helper (root) and bangerd"
"$bin/banger-helper" --home "$home" 2>"$work/helper.log" & pids+=($!)
"$bin/bangerd" --home "$home" 2>"$work/bangerd.log" & pids+=($!)
for _ in $(seq 1 200); do
  if banger -o json daemon status 2>/dev/null | grep -q '"helper_reachable": *true'; then break; fi
  sleep 0.05
done
banger daemon status

step "build a guest image from Debian packages (kernel, busybox, dropbear, banger's guest agent)"
banger image build debian

step "create a VM and start it, waiting until the guest is ready (its agent's hello or its SSH port)"
banger vm create --image debian --name demo --memory 256 --start --wait >/dev/null
banger vm ls

step "run a command in the guest over SSH (the host key is pinned on first use)"
banger vm ssh demo -- 'uname -a; echo "uptime: $(cut -d" " -f1 /proc/uptime) s"; ip -4 addr show eth0 | grep inet'

step "run a command through the guest agent instead: no SSH, no guest network; its exit status comes back"
banger vm exec demo -- sh -c 'echo "hello from $(hostname) over virtio-serial"; exit 3' || echo "exit status: $?"

step "vm show demo: boot phase timings"
banger vm show demo | grep -E "^(state|guest ip|pid|boot:|agent)"

step "the same VM over the HTTP API (docs/api.md): curl with the CLI's client certificate"
api() { curl -sS --cert "$home/tls/client.pem" --key "$home/tls/client.key" --cacert "$home/tls/ca.pem" "https://127.0.0.1:$((port + 2))$1"; }
echo "GET /v1/vms/demo:"
api /v1/vms/demo | tr ',' '\n' | grep -E '^"(name|state|guest_ip|cpus|memory_mib)"' | sed 's/^/  /'
echo "GET /metrics (a few of its series):"
api /metrics | grep -E '^(banger_vms\{state="running"\}|banger_operations_total|process_resident_memory_bytes)' | sed 's/^/  /'

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
json_field() { banger -o json vm show demo | grep -o "\"$1\": *[0-9]*" | head -1 | grep -o '[0-9]*$'; }
cold_ms=$(( $(json_field guest_ready_us) / 1000 ))

step "suspend it: the guest's state goes to disk, the VMM ends and frees its memory"
t0=$(date +%s%N)
banger vm suspend demo
suspend_ms=$(ms_since "$t0")
banger vm show demo | grep -E "^(state|pid|saved state)"

step "start it again: a fresh VMM restores the guest where it was (same IP, MAC, SSH host key)"
t0=$(date +%s%N)
banger vm start --wait demo
restore_ms=$(ms_since "$t0")
banger vm ssh demo -- 'echo "uptime: $(cut -d" " -f1 /proc/uptime) s (it went on from before the suspend)"'
echo "suspend: ${suspend_ms} ms; restore to SSH-ready: ${restore_ms} ms (the cold boot to SSH-ready took ${cold_ms} ms)"

step "clone it: a second VM of the running guest, with its own name, address, MAC and SSH host key"
t0=$(date +%s%N)
banger vm clone demo demo-2
clone_ms=$(ms_since "$t0")
banger vm exec demo-2 -- sh -c 'echo "$(hostname): $(ip -4 -o addr show dev eth0 | awk "{print \$4}"), uptime $(cut -d" " -f1 /proc/uptime) s (the source'"'"'s guest, going on)"'
echo "clone to ready: ${clone_ms} ms"
banger vm rm demo-2

step "stop it gracefully (ACPI power button; the guest powers itself off)"
banger vm stop demo
banger vm show demo | grep -E "^(state|last stop)"
echo "guest console, last lines:"
tail -3 "$(banger -o json vm show demo | grep -o '"log_path": *"[^"]*"' | cut -d'"' -f4)"

step "delete it: tap, rootfs copy, runtime files and host-key pin go with it"
banger vm rm demo
banger vm ls

step "one operation as the daemon and the helper logged it (JSON lines, one op_id)"
op=$(grep -o '"op":"vm.stop","op_id":"op-[0-9a-f]*"' "$work/bangerd.log" | head -1 | grep -o 'op-[0-9a-f]*')
grep "\"$op\"" "$work/bangerd.log" | head -8
grep "\"$op\"" "$work/helper.log" | head -4

step "stop bangerd and banger-helper"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
pids=()
failed_step=""
echo "done: everything it created is removed on exit"
