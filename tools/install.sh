#!/usr/bin/env bash
# `make install`: banger's binaries, the image builder, bash completion and the
# systemd units. PREFIX (default /usr/local) and DESTDIR (staging) as usual.
#
#   sudo make install
#   sudo banger init --home /var/lib/banger --vmm qemu
#   sudo systemctl enable --now banger-helper bangerd
set -euo pipefail
bin=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-/usr/local}
dest=${DESTDIR:-}
bindir="$prefix/bin"

install -d "$dest$bindir"
for b in banger bangerd banger-helper banger-load banger-image-build fc-stub; do
  if [ -x "$bin/$b" ]; then
    install -m 0755 "$bin/$b" "$dest$bindir/$b"
    echo "installed $bindir/$b"
  fi
done

completions="$prefix/share/bash-completion/completions"
install -d "$dest$completions"
# Generated from the command table of the banger being installed.
"$bin/banger" completion bash > "$dest$completions/banger"
chmod 0644 "$dest$completions/banger"
echo "installed $completions/banger"

units="${SYSTEMD_UNIT_DIR:-/etc/systemd/system}"
install -d "$dest$units"
for unit in banger-helper.service bangerd.service; do
  sed "s|@BINDIR@|$bindir|g" "$src/systemd/$unit" > "$dest$units/$unit"
  chmod 0644 "$dest$units/$unit"
  echo "installed $units/$unit"
done
if [ -z "$dest" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
echo "next: banger init --home /var/lib/banger && systemctl enable --now banger-helper bangerd"
