#include "messages/vm_limits.hpp"

#include "messages/excerpt.hpp"

#include <csignal>
#include <string>

namespace banger {

namespace {

/// Strict unsigned decimal: digits only, no sign, no leading zero unless "0".
bool parse_decimal(std::string_view text, unsigned max, unsigned& out) {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text[0] == '0'))
    return false;
  unsigned long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > max)
      return false;
  }
  out = static_cast<unsigned>(value);
  return true;
}

std::string allowed_list() {
  std::string out;
  for (const auto& s : allowed_signals)
    out += (out.empty() ? "" : " ") + std::string(s.name);
  return out;
}

} // namespace

const std::array<AllowedSignal, 7> allowed_signals{{
    {"HUP", SIGHUP},
    {"INT", SIGINT},
    {"QUIT", SIGQUIT},
    {"KILL", SIGKILL},
    {"USR1", SIGUSR1},
    {"USR2", SIGUSR2},
    {"TERM", SIGTERM},
}};

Status check_cpus(std::uint64_t cpus) {
  if (cpus < 1 || cpus > max_cpus)
    return Error{Errc::invalid_argument, "cpus must be 1 to " + std::to_string(max_cpus)};
  return {};
}

Status check_memory_mib(std::uint64_t memory_mib) {
  if (memory_mib < min_memory_mib || memory_mib > max_memory_mib)
    return Error{Errc::invalid_argument, "memory must be " + std::to_string(min_memory_mib)
                                           + " to " + std::to_string(max_memory_mib) + " MiB"};
  return {};
}

SignalParse parse_signal_text(std::string_view signal) {
  SignalParse out;
  auto malformed = [&] {
    out.problem = SignalProblem::malformed;
    out.message = "signal " + excerpt(signal) + " is not a signal name or number";
    return out;
  };
  auto not_allowed = [&](std::string shown) {
    out.problem = SignalProblem::not_allowed;
    out.message = "signal " + shown + " is not one of " + allowed_list();
    return out;
  };
  if (signal.empty() || signal.size() > 16)
    return malformed();
  if (signal[0] >= '0' && signal[0] <= '9') {
    unsigned number = 0;
    if (!parse_decimal(signal, 1000, number))
      return malformed();
    for (const auto& allowed : allowed_signals)
      if (allowed.number == static_cast<int>(number)) {
        out.number = allowed.number;
        return out;
      }
    return not_allowed(std::to_string(number));
  }
  std::string upper;
  for (char c : signal) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum)
      return malformed();
    upper += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  std::string_view name = upper;
  if (name.size() > 3 && name.substr(0, 3) == "SIG")
    name.remove_prefix(3);
  for (const auto& allowed : allowed_signals)
    if (allowed.name == name) {
      out.number = allowed.number;
      return out;
    }
  return not_allowed(excerpt(signal));
}

Status check_signal(std::string_view signal) {
  auto parsed = parse_signal_text(signal);
  if (parsed.problem != SignalProblem::none)
    return Error{Errc::invalid_argument, parsed.message};
  return {};
}

} // namespace banger
