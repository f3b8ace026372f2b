// What banger says to QEMU's QMP socket, as data: the command lines sent over
// one connection and how the answer is read. The VM actor sends these through
// vmm_io (one connection per exchange: QEMU's QMP server takes one client at
// a time and a fresh connection needs no state across operations).
#pragma once

#include "messages/result.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace banger::qemu {

inline constexpr std::chrono::milliseconds qmp_timeout{10000};

/// The bytes to send: capabilities negotiation, then each command, one JSON
/// object per line.
std::string qmp_request(const std::vector<std::string>& commands);

/// True once `received` holds the greeting and an answer ("return" or
/// "error") for negotiation plus each of `commands` commands; asynchronous
/// events in between are skipped. Sets `error` on malformed input.
bool qmp_complete(const std::string& received, std::size_t commands, std::string& error);

/// Each command's "return" value as JSON text, or vmm_failed naming the
/// first command QEMU refused and its error description.
Result<std::vector<std::string>> qmp_returns(const std::string& received,
                                             const std::vector<std::string>& commands);

inline const std::string query_status = R"({"execute":"query-status"})";
inline const std::string system_powerdown = R"({"execute":"system_powerdown"})";

/// The "status" field of a query-status return ("running", "paused", ...).
Result<std::string> run_state(const std::string& query_status_return);

} // namespace banger::qemu
