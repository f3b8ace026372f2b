// A loopback TCP port no one listens on right now (the kernel's pick), for
// the ports a test's daemon, helper or API should take.
#pragma once

#include <cstdint>

namespace banger::test {

std::uint16_t free_port();

} // namespace banger::test
