// What a VM may ask for: vCPUs, memory and the signals `vm kill` may send.
// Pure checks with one definition for every process: the CLI runs them
// before it contacts anything, the daemon at its edge and when it sizes a
// VM, the helper before it signals a VMM.
#pragma once

#include "messages/result.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace banger {

inline constexpr std::uint32_t max_cpus = 32;
inline constexpr std::uint32_t default_cpus = 1;
inline constexpr std::uint32_t default_memory_mib = 256;
inline constexpr std::uint32_t min_memory_mib = 64;
inline constexpr std::uint32_t max_memory_mib = 256 * 1024;

/// 1..max_cpus vCPUs, else invalid_argument.
Status check_cpus(std::uint64_t cpus);
/// min_memory_mib..max_memory_mib MiB, else invalid_argument.
Status check_memory_mib(std::uint64_t memory_mib);

struct AllowedSignal {
  std::string_view name; ///< upper case, without SIG
  int number;
};

/// The closed list of signals a VMM may be sent. STOP/CONT could wedge a VM
/// in ways the daemon cannot see; SEGV, ABRT and friends would make the VMM
/// dump core. None of them is needed to stop a VM.
extern const std::array<AllowedSignal, 7> allowed_signals;

/// Why parse_signal refused a text.
enum class SignalProblem {
  none,
  malformed,   ///< not a signal name or decimal number at all
  not_allowed, ///< a well-formed signal outside allowed_signals
};

struct SignalParse {
  int number = 0;
  SignalProblem problem = SignalProblem::none;
  std::string message; ///< for a person; "" when problem == none
};

/// A signal from allowed_signals, by name with or without the SIG prefix in
/// any case, or by decimal number.
SignalParse parse_signal_text(std::string_view signal);

/// parse_signal_text as a Status: invalid_argument for either problem.
Status check_signal(std::string_view signal);

} // namespace banger
