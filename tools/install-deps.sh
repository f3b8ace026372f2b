#!/usr/bin/env bash
# Installs the Debian 12 packages banger needs to build, test and run, and only
# those that are missing: a second run installs nothing and prints nothing.
#   tools/install-deps.sh        build, test and run (make build / make test)
#   tools/install-deps.sh fuzz   also clang and libFuzzer (make fuzz): clang-14
#                                compiles, libclang-rt-14-dev holds
#                                libclang_rt.fuzzer-x86_64.a
set -euo pipefail

group=${1:-base}
case $group in
base | fuzz) ;;
*) echo "install-deps: unknown package group '$group' (base, fuzz)" >&2; exit 2 ;;
esac

packages=(
  # build
  cmake ninja-build g++ pkg-config ccache
  # libraries
  libcaf-dev libspdlog-dev libsqlitecpp-dev doctest-dev nlohmann-json3-dev
  libnl-route-3-dev libssl-dev libnftables-dev libyaml-cpp-dev libxxhash-dev
  libcpp-httplib-dev
  # runtime tools used by init, tests and the demo
  openssl sqlite3 iproute2 procps openssh-client xfsprogs qemu-system-x86
  # the HTTP API's tests: curl as a client, promtool and a Prometheus
  # server, Chromium for the dashboard (docs/api.md)
  curl prometheus chromium
  # image builder (tools/image/build-image.sh)
  apt dpkg e2fsprogs cpio binutils xz-utils zstd gzip
  # and its --distro debian
  debootstrap debian-archive-keyring tar
)
if [ "$group" = fuzz ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

# Node.js runs the dashboard's browser test (playwright-core); the machine's
# own node is used when there is one, else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

# playwright-core for that test, at the version package-lock.json pins
# (npm's registry). Once: later runs find it installed.
browser_test() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/api/browser"
  if [ ! -d "$dir/node_modules/playwright-core" ]; then
    echo "install-deps: npm ci in tests/api/browser (playwright-core)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

# CAF 0.17.6's source as Debian ships it (the source package of libcaf-dev),
# which the build compiles into static libraries (cmake/BundledCAF.cmake says
# why). Once, checked against the SHA-256 in Debian's source index; without it
# the build links Debian's shared libcaf and says so.
caf_source() {
  local dir="$HOME/.cache/banger/sources" name=actor-framework_0.17.6.orig.tar.gz
  local sha=e2bf5bd243f08bb7d8adde197cfe3e6d71314ed3378fe0692f8932f4c3b3928c
  local url=http://deb.debian.org/debian/pool/main/a/actor-framework/$name
  [ -f "$dir/$name" ] && return 0
  mkdir -p "$dir"
  echo "install-deps: fetching $name (Debian's CAF source)"
  if ! curl -fsSL --retry 3 -o "$dir/$name.part" "$url"; then
    echo "install-deps: cannot fetch $url: the build uses Debian's shared libcaf" >&2
    rm -f "$dir/$name.part"
    return 0
  fi
  if ! echo "$sha  $dir/$name.part" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "install-deps: $url does not match Debian's SHA-256: not used" >&2
    rm -f "$dir/$name.part"
    return 0
  fi
  mv "$dir/$name.part" "$dir/$name"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  caf_source
  browser_test
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
browser_test
caf_source
