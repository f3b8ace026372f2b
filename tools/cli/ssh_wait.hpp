// Waiting, from the CLI's side, until a guest accepts SSH: what `vm ssh`
// and `vm cp` do before running ssh, so a guest that is still booting
// (refused, unreachable, silent) is waited for instead of failing with
// "No route to host". CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace banger::cli {

/// Connects to ip:port until the peer sends "SSH-" or `timeout` passes;
/// "" once it did, else the last reason it did not (e.g. "connection
/// refused"). Each attempt is bounded, so a silent peer does not hold the
/// wait past its deadline.
std::string wait_for_ssh_banner(const std::string& ip, std::uint16_t port,
                                std::chrono::milliseconds timeout);

/// One attempt of the above; "" when the banner came.
std::string probe_ssh_banner(const std::string& ip, std::uint16_t port,
                             std::chrono::milliseconds timeout);

} // namespace banger::cli
