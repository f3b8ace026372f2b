// The small validators at banger's edges, all on the same input: op_id
// (messages/op_id.hpp), the helper's names, ids, signals, MACs and subnets
// (privileged/host/validate.hpp), the subnet parser every process shares
// (messages/host_network.hpp) and the daemon's addressing (actors/network.hpp).
// What one accepts re-renders to a spelling it accepts again as the same
// value; what the helper refuses is explained without echoing raw bytes (its
// messages end up in logs).
#include "actors/network.hpp"
#include "messages/home_layout.hpp"
#include "messages/op_id.hpp"
#include "privileged/host/validate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <string>

namespace host = banger::host;

namespace {

// Helper errors quote untrusted input through printable(): bounded, no
// control or non-ASCII bytes that could forge a log line.
template <class R>
void check_refusal(const R& result) {
  if (result)
    return;
  const auto& message = result.error().message;
  FUZZ_CHECK(!message.empty() && message.size() <= 1024);
  FUZZ_CHECK(std::none_of(message.begin(), message.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u >= 0x7f;
  }));
}

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = banger::fuzz::as_text(data, size);

  if (banger::is_valid_op_id(text))
    FUZZ_CHECK(text.size() == 15 && text.starts_with("op-") && is_lower_hex(text.substr(3)));

  auto vm_id = host::validate_vm_id(text);
  check_refusal(vm_id);
  if (vm_id) {
    FUZZ_CHECK(text.size() == 16 && is_lower_hex(text));
    // The tap banger derives from a valid id is one the helper accepts.
    auto tap = banger::tap_name(text);
    FUZZ_CHECK(host::validate_tap_name(tap));
    FUZZ_CHECK(host::validate_tap_name_for(tap, text));
  }
  check_refusal(host::validate_tap_name(text));

  for (auto check : {host::validate_bridge_name, host::validate_banger_name}) {
    auto named = check(text);
    check_refusal(named);
    if (named)
      FUZZ_CHECK(host::validate_text("name", text, 1, 63));
  }
  check_refusal(host::validate_text("field", text, 0, 64));

  auto signal = host::parse_signal(text);
  check_refusal(signal);
  if (signal) {
    // An accepted signal has a name, and its name and number both map back.
    auto name = host::allowed_signal_name(*signal);
    FUZZ_CHECK(!name.empty());
    auto by_name = host::parse_signal(name);
    auto by_number = host::parse_signal(std::to_string(*signal));
    FUZZ_CHECK(by_name && *by_name == *signal);
    FUZZ_CHECK(by_number && *by_number == *signal);
  }

  auto mac = host::parse_mac(text);
  check_refusal(mac);
  if (mac) {
    auto rendered = mac->to_string();
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    FUZZ_CHECK(rendered == lower);
    auto again = host::parse_mac(rendered);
    FUZZ_CHECK(again && *again == *mac);
  }

  auto subnet = host::parse_ipv4_subnet(text);
  check_refusal(subnet);
  if (subnet) {
    // The accepted spelling is the canonical one.
    FUZZ_CHECK(subnet->to_string() == text);
    FUZZ_CHECK(subnet->contains(subnet->gateway()));
    FUZZ_CHECK(subnet->prefix_length >= 8 && subnet->prefix_length <= 30);
  }

  // The daemon allocates guests from the same parse (one subnet parser for
  // init, daemon and helper): an accepted subnet holds at least one guest,
  // and guest addresses stay inside it, the last below broadcast.
  if (subnet) {
    auto canonical = banger::format_ipv4(subnet->network) + "/"
                     + std::to_string(subnet->prefix_length);
    auto again = host::parse_ipv4_subnet(canonical);
    FUZZ_CHECK(again && *again == *subnet);
    FUZZ_CHECK(subnet->guest_capacity() >= 1);
    auto last = subnet->guest(subnet->guest_capacity() - 1);
    FUZZ_CHECK(subnet->contains(last));
    FUZZ_CHECK(last < (subnet->network | ~subnet->netmask()));
  }
  return 0;
}
