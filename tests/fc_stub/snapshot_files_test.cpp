// The stub's snapshot files on their own: the state file's seal and header,
// and a memory file that carries the guest's boot and clock in every MiB.
#include "tests/support/process.hpp"
#include "tools/fc-stub/snapshot_files.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <unistd.h>

namespace banger::fc_stub {
namespace {

OrderedJson minimal_state() {
  return OrderedJson{
      {"machine-config", {{"vcpu_count", 1}, {"mem_size_mib", 4}}},
      {"drives", OrderedJson::array()},
      {"network-interfaces",
       OrderedJson::array({{{"iface_id", "eth0"}, {"host_dev_name", "tap0"}}})},
      {"vsock", nullptr},
      {"guest", {{"boot_id", "0123456789abcdef"}}},
  };
}

TEST_CASE("a state file reads back as the state it was written from") {
  OrderedJson decoded;
  CHECK_FALSE(decode_state(encode_state(minimal_state()), decoded));
  CHECK(decoded == minimal_state());
}

TEST_CASE("a state file without the guest or with a malformed device is "
          "refused even when its seal is right") {
  OrderedJson state = minimal_state();
  state.erase("guest");
  OrderedJson decoded;
  auto error = decode_state(encode_state(state), decoded);
  REQUIRE(error);
  CHECK(*error == "An error occurred during bitcode serialization: fc-stub "
                  "state has no valid `guest`");
  state = minimal_state();
  state["network-interfaces"][0].erase("host_dev_name");
  CHECK(decode_state(encode_state(state), decoded).value_or("") ==
        "An error occurred during bitcode serialization: fc-stub state has "
        "no valid `network-interfaces`");
}

TEST_CASE("any changed byte of a state file breaks its seal") {
  std::string text = encode_state(minimal_state());
  OrderedJson decoded;
  for (std::size_t at :
       {text.find('{'), text.find("tap0"), text.rfind(' ') + 1}) {
    std::string changed = text;
    changed[at] ^= 0x01;
    CAPTURE(at);
    CHECK(decode_state(changed, decoded).value_or("") ==
          "CRC64 validation failed");
  }
  CHECK(decode_state(std::string(11'000'000, ' '), decoded).value_or("") ==
        "Snapshot size exceeds limit of 10000000 bytes");
  CHECK(decode_state("short", decoded).value_or("") ==
        "IO Error: File too short to contain CRC");
}

TEST_CASE("boot ids are 16 hex digits and differ between boots") {
  std::string first = new_boot_id();
  CHECK(first.size() == 16);
  CHECK(first.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(new_boot_id() != first);
}

TEST_CASE("a memory file brings back the guest's clock and refuses another "
          "boot's memory") {
  banger::test::TempDir directory("fc-stub-memory");
  std::string path = directory.path() + "/guest.mem";
  GuestMemory saved{"00000000deadbeef", 1234};
  REQUIRE_FALSE(write_memory(path, 4, saved));
  GuestMemory restored;
  CHECK_FALSE(read_memory(path, 4, "00000000deadbeef", restored));
  CHECK(restored.boot_id == saved.boot_id);
  CHECK(restored.uptime_ms == 1234);
  CHECK(read_memory(path, 4, "00000000cafef00d", restored).value_or("") ==
        "Failed to restore guest memory: MiB 0 of the memory file does not "
        "hold this snapshot's guest memory (fc-stub)");
  CHECK(read_memory(path, 8, "00000000deadbeef", restored).value_or("") ==
        "Failed to restore guest memory: Total sum of memory regions exceeds "
        "largest possible file offset");
  // Written again for a smaller guest, nothing of the old one remains.
  REQUIRE_FALSE(write_memory(path, 2, GuestMemory{"00000000cafef00d", 5}));
  CHECK_FALSE(read_memory(path, 2, "00000000cafef00d", restored));
  CHECK(restored.uptime_ms == 5);
}

} // namespace
} // namespace banger::fc_stub
