// Drives the skip tally of doctest_main.cpp (tests/CMakeLists.txt runs it):
// one case that runs, one that skips itself.
#include "tests/support/skip.hpp"

#include <doctest/doctest.h>

TEST_CASE("a case that runs") {
  CHECK(1 + 1 == 2);
}

TEST_CASE("a case that cannot run here") {
  BANGER_SKIP("no such tool here");
  FAIL("a skipped case goes no further");
}
