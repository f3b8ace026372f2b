// Skipping a test case that cannot run here (not root, a tool missing), so
// that it is reported as skipped, never counted as passed. The test main
// (doctest_main.cpp) names every skipped case and why at the end of the run;
// a binary whose every case was skipped exits with skip_exit_code, which
// tests/CMakeLists.txt registers as ctest's SKIP_RETURN_CODE ("Skipped").
#pragma once

#include <string>

namespace banger::test {

/// The exit status of a test binary that skipped everything it ran.
inline constexpr int skip_exit_code = 77;

bool is_root();

/// Records that the running test case is skipped, and why. The case must
/// return right after (BANGER_SKIP does both).
void skip(const std::string& reason);

} // namespace banger::test

/// Skips the rest of the running test case, saying why.
#define BANGER_SKIP(reason)                                                    \
  do {                                                                         \
    ::banger::test::skip(reason);                                              \
    return;                                                                    \
  } while (0)

/// Skips the rest of a test case that needs root (taps, mounts, VMM launch).
#define BANGER_REQUIRE_ROOT()                                                  \
  do {                                                                         \
    if (!::banger::test::is_root())                                            \
      BANGER_SKIP("needs root");                                               \
  } while (0)
