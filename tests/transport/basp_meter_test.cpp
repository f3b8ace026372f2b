// BaspMeter follows frame boundaries in any chunking, and its cap is far
// above the largest message banger really sends.
#include "messages/basp_meter.hpp"
#include "messages/register.hpp"
#include "messages/cli_protocol.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace banger;

namespace {

std::vector<unsigned char> frame(std::uint32_t payload_len,
                                 unsigned char fill = 0xab) {
  std::vector<unsigned char> out(BaspMeter::header_size, 0);
  out[0] = 0x02;
  out[4] = static_cast<unsigned char>(payload_len >> 24);
  out[5] = static_cast<unsigned char>(payload_len >> 16);
  out[6] = static_cast<unsigned char>(payload_len >> 8);
  out[7] = static_cast<unsigned char>(payload_len);
  out.insert(out.end(), payload_len, fill);
  return out;
}

struct Config : caf::actor_system_config {
  Config() { register_messages(*this); }
};

} // namespace

TEST_CASE("a stream of frames under the cap passes in any chunking") {
  std::vector<unsigned char> stream;
  for (std::uint32_t len : {0u, 1u, 31u, 32u, 33u, 1000u, 0u, 4096u}) {
    auto f = frame(len);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  auto bad = frame(0);
  bad[4] = 0x7f; // ~2 GiB announced by the frame after the good ones
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{5}, std::size_t{31}, std::size_t{32},
        std::size_t{33}, std::size_t{4097}, stream.size()}) {
    INFO("chunk " << chunk);
    BaspMeter uut(8192);
    for (std::size_t at = 0; at < stream.size(); at += chunk)
      REQUIRE(
          uut.consume(stream.data() + at, std::min(chunk, stream.size() - at)));
    // The next header, split anywhere, is caught once it is complete.
    for (std::size_t at = 0; at < bad.size(); ++at) {
      bool ok = uut.consume(bad.data() + at, 1);
      CHECK(ok == (at + 1 < BaspMeter::header_size));
    }
    CHECK(uut.over_cap());
    CHECK(uut.announced() == 0x7f000000u);
  }
}

TEST_CASE(
    "a header announcing exactly the cap passes and one byte more does not") {
  BaspMeter at_cap(4096);
  auto f = frame(4096);
  CHECK(at_cap.consume(f.data(), f.size()));
  BaspMeter over(4096);
  auto g = frame(4097);
  CHECK_FALSE(over.consume(g.data(), BaspMeter::header_size));
  CHECK_FALSE(
      over.consume(g.data() + BaspMeter::header_size, 1)); // and stays so
}

TEST_CASE("a VmList of 10,000 VMs with long fields fits well under the BASP "
          "payload cap") {
  Config cfg;
  caf::actor_system sys{cfg};
  VmList list;
  for (int i = 0; i < 10000; ++i) {
    VmRecord vm;
    vm.id = std::string(16, 'a');
    vm.name = std::string(63, 'n');
    vm.image_id = std::string(16, 'b');
    auto dir = "/var/lib/banger/state/vms/" + vm.id + std::string(40, 'p');
    vm.runtime.stage = "wait_for_boot";
    vm.runtime.api_socket = dir + "/api.sock";
    vm.runtime.vsock_path = dir + "/vsock";
    vm.runtime.guest_ip = "10.213.255.254";
    vm.runtime.mac = "02:fc:0a:d5:ff:fe";
    vm.runtime.tap = "tap-fc-aaaaaaaa";
    vm.runtime.rootfs_path = dir + "/rootfs.img";
    vm.runtime.vm_dir = dir;
    vm.runtime.log_path = dir + "/vmm.log";
    vm.runtime.last_error = std::string(300, 'e');
    list.vms.push_back(vm);
  }
  auto msg = caf::make_message(list);
  std::vector<char> buffer;
  caf::binary_serializer sink{sys, buffer};
  REQUIRE_FALSE(sink(msg));
  MESSAGE("VmList of 10,000 VMs: " << buffer.size() / 1024 << " KiB; cap "
                                   << basp_payload_cap / (1024 * 1024)
                                   << " MiB");
  CHECK(buffer.size() * 4 < basp_payload_cap);
}
