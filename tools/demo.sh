#!/usr/bin/env bash
# `make demo`: what banger can do today, step by step, in a temporary home.
set -euo pipefail
bin=$(cd "$1" && pwd)
build=$(dirname "$bin")
home=$(mktemp -d -t banger-demo-XXXXXX)
trap 'rm -rf "$home"' EXIT
echo "== banger demo: recording an image and a VM in a fresh store"
"$build/demo/store_demo" "$home"
