#include "messages/errc.hpp"

#include <array>
#include <utility>

namespace banger {

namespace {

struct ErrcInfo {
  Errc code;
  std::string_view name;
  std::string_view description;
};

constexpr std::array<ErrcInfo, 19> errc_table{{
  {Errc::none, "none", "no error"},
  {Errc::bad_version, "bad_version", "peer speaks another protocol version"},
  {Errc::unknown_method, "unknown_method", "request type not understood"},
  {Errc::unauthenticated, "unauthenticated", "missing or wrong credential"},
  {Errc::invalid_argument, "invalid_argument", "a field failed validation"},
  {Errc::not_found, "not_found", "nothing matches the reference"},
  {Errc::ambiguous, "ambiguous", "the reference matches several objects"},
  {Errc::already_exists, "already_exists", "name, IP or CID already taken"},
  {Errc::busy, "busy", "too many pending requests for this VM"},
  {Errc::conflict, "conflict", "wrong state for this request"},
  {Errc::helper_unavailable, "helper_unavailable", "banger-helper is down"},
  {Errc::helper_refused, "helper_refused", "banger-helper refused the request"},
  {Errc::vmm_failed, "vmm_failed", "the VMM failed or reported a fault"},
  {Errc::timeout, "timeout", "a deadline passed"},
  {Errc::storage, "storage", "the state database failed"},
  {Errc::internal, "internal", "internal error"},
  {Errc::system, "system", "a host system call failed"},
  {Errc::host_unavailable, "host_unavailable", "a cluster host cannot be reached"},
  {Errc::agent_unavailable, "agent_unavailable", "the guest agent is absent or does not answer"},
}};

} // namespace

std::string_view to_string(Errc code) {
  for (const auto& info : errc_table)
    if (info.code == code)
      return info.name;
  return "unknown_error";
}

std::optional<Errc> errc_from_string(std::string_view name) {
  for (const auto& info : errc_table)
    if (info.name == name)
      return info.code;
  return std::nullopt;
}

std::string_view describe(Errc code) {
  for (const auto& info : errc_table)
    if (info.code == code)
      return info.description;
  return "unknown error";
}

} // namespace banger
