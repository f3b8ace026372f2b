#!/usr/bin/env bash
# `make fuzz` / `make fuzz-merge` (docs/fuzzing.md).
#   tools/fuzz.sh build BUILD_DIR          configure (clang, BANGER_FUZZ=ON) and build
#   tools/fuzz.sh run BUILD_DIR SECONDS    run every target in turn for SECONDS
#   tools/fuzz.sh merge BUILD_DIR          add what earlier runs found that covers
#                                          new code to tests/fuzz/corpus/ (at most
#                                          FUZZ_MERGE_MAX, default 10, per target)
# FUZZ_TARGETS="qmp config" limits run and merge to some targets.
# Targets run one at a time: each gets a core, and a crash is easy to attribute.
set -euo pipefail

mode=${1:?usage: tools/fuzz.sh build|run|merge BUILD_DIR [SECONDS]}
build=${2:?build directory}
seconds=${3:-60}
jobs=${JOBS:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
corpus_root=$root/tests/fuzz/corpus
all_targets=$(ls "$corpus_root")
targets=${FUZZ_TARGETS:-$all_targets}

cxx=$(command -v clang++-14 || command -v clang++ || true)
cc=$(command -v clang-14 || command -v clang || true)

# libFuzzer dictionaries (tests/fuzz/dict/): the tokens a target's format is
# made of, so mutations reach past the first syntax check sooner.
dict_of() {
  case $1 in
  http_response | fc_stub_http) echo http ;;
  qmp) echo qmp ;;
  fc_stub_json | fc_stub_decoder) echo json ;;
  config) echo config ;;
  esac
}

configure_and_build() {
  [ -n "$cxx" ] || { echo "fuzz: clang++ not found (tools/install-deps.sh fuzz)" >&2; exit 1; }
  if [ ! -f "$build/build.ninja" ]; then
    CC=$cc CXX=$cxx cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DBANGER_FUZZ=ON >/dev/null
  fi
  cmake --build "$build" -j "$jobs" --target fuzz_targets
}

case $mode in
build)
  configure_and_build
  ;;
run)
  configure_and_build
  failed=()
  for t in $targets; do
    found=$build/fuzz-corpus/$t          # what this machine's runs found
    artifacts=$build/fuzz-artifacts/$t/  # crashing inputs, kept for the report
    mkdir -p "$found" "$artifacts"
    echo "fuzz: $t for ${seconds}s"
    dict=()
    if [ -n "$(dict_of "$t")" ]; then
      dict=(-dict="$root/tests/fuzz/dict/$(dict_of "$t").dict")
    fi
    # The checked-in corpus is read-only seed material: new inputs go to
    # $found, so running never changes the tree.
    if ! "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
         -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" "${dict[@]}" \
         "$found" "$corpus_root/$t" >"$build/fuzz-artifacts/$t.log" 2>&1; then
      failed+=("$t")
      echo "fuzz: $t FAILED, see $build/fuzz-artifacts/$t.log and $artifacts" >&2
    fi
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/fuzz-artifacts/$t.log" | tail -2 || true
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${failed[*]}" >&2
    exit 1
  fi
  echo "fuzz: no crash in $(echo $targets | wc -w) targets"
  ;;
merge)
  configure_and_build
  # The corpus stays small (it is replayed by every make test and read in
  # reviews): of the inputs that reach an edge the corpus does not
  # (-use_counters=0: edges, not hit counts), the FUZZ_MERGE_MAX smallest
  # are added per target (0: all of them). Existing files are never removed.
  max=${FUZZ_MERGE_MAX:-10}
  for t in $targets; do
    found=$build/fuzz-corpus/$t
    if [ ! -d "$found" ] || [ -z "$(ls -A "$found")" ]; then
      echo "fuzz: nothing found for $t yet (run make fuzz first)"
      continue
    fi
    stage=$build/fuzz-merge/$t
    rm -rf "$stage"
    mkdir -p "$stage" "$build/fuzz-artifacts"
    cp "$corpus_root/$t"/* "$stage"/
    "$build/fuzz/${t}_fuzz" -merge=1 -use_counters=0 -max_len=4096 "$stage" "$found" \
      >"$build/fuzz-artifacts/$t.merge.log" 2>&1
    added=0
    while read -r file; do
      [ -e "$corpus_root/$t/$file" ] && continue
      if [ "$max" -gt 0 ] && [ "$added" -ge "$max" ]; then
        break
      fi
      cp "$stage/$file" "$corpus_root/$t/$file"
      added=$((added + 1))
    done < <(ls -Sr "$stage")
    echo "fuzz: $t: $added inputs added to tests/fuzz/corpus/$t ($(ls "$corpus_root/$t" | wc -l) files)"
  done
  ;;
*)
  echo "usage: tools/fuzz.sh build|run|merge BUILD_DIR [SECONDS]" >&2
  exit 2
  ;;
esac
