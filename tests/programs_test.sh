#!/usr/bin/env bash
# programs_test.sh PROGRAM...: each program was linked with libstdc++ and
# libgcc inside (banger_program in CMakeLists.txt), so nothing it loads may
# bring the shared libstdc++ or libgcc_s: two C++ runtimes in one process
# (two heaps behind operator new, two sets of exception tables) is undefined
# behaviour. A shared C++ library added to such a program fails here.
set -euo pipefail
status=0
for program in "$@"; do
  deps=$(ldd "$program")
  if grep -Eq 'libstdc\+\+\.so|libgcc_s\.so' <<<"$deps"; then
    echo "$program carries libstdc++ but loads a shared C++ runtime too:" >&2
    grep -E 'libstdc\+\+\.so|libgcc_s\.so' <<<"$deps" >&2
    status=1
  else
    echo "ok: $(basename "$program"): $(wc -l <<<"$deps") libraries, no shared C++ runtime"
  fi
done
exit $status
