#!/usr/bin/env bash
# Runs banger's benchmarks and prints one JSON object per result.
# Usage: tools/bench.sh BIN_DIR   (called by `make bench`)
set -euo pipefail
bin=$(cd "$1" && pwd)
build=$(dirname "$bin")
work=$(mktemp -d -t banger-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== storage: durable upserts per second (one commit vs group commit)"
"$build/bench/store_bench" "$work/store" 2000
