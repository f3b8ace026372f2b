// What every fuzz target shares: the libFuzzer entry point's signature and an
// invariant check that stops the run with a message. abort() is what
// libFuzzer records as a crash (and saves the input), and what makes the
// corpus replay under ctest fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

#define FUZZ_CHECK(condition)                                                          \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,        \
                   #condition);                                                        \
      std::abort();                                                                    \
    }                                                                                  \
  } while (false)

namespace banger::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

} // namespace banger::fuzz
