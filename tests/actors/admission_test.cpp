// The daemon's edge checks refuse malformed requests with invalid_argument
// and say why without repeating the input.
#include "actors/admission.hpp"
#include "tests/support/result.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace banger;
using banger::test::code_of;

namespace {

VmActionRequest action(VmAction what) {
  VmActionRequest request;
  request.ref = "web1";
  request.action = what;
  return request;
}

ImageAddRequest image(std::string boot_args) {
  ImageAddRequest request;
  request.name = "tiny";
  request.kernel_path = "/var/lib/banger/images/tiny/vmlinux";
  request.rootfs_path = "/var/lib/banger/images/tiny/rootfs.ext4";
  request.boot_args = std::move(boot_args);
  return request;
}

} // namespace

TEST_CASE("every VM action a client can name is admitted") {
  for (auto what : {VmAction::start, VmAction::stop, VmAction::kill, VmAction::restart,
                    VmAction::remove})
    CHECK(admissible(action(what)));
}

TEST_CASE("a VM action outside the enum is refused") {
  auto uut = admissible(action(static_cast<VmAction>(42)));
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::invalid_argument);
  CHECK(uut.error().message.find("42") != std::string::npos);
  CHECK(code_of(admissible(action(static_cast<VmAction>(11)))) == Errc::invalid_argument);
}

TEST_CASE("wait is refused on a create without start") {
  VmCreateRequest create;
  create.spec.image = "tiny";
  create.spec.wait = true;
  CHECK(code_of(admissible(create)) == Errc::invalid_argument);
  VmCreateBeginRequest begin;
  begin.spec = create.spec;
  CHECK(code_of(admissible(begin)) == Errc::invalid_argument);
  create.spec.start = true;
  CHECK(admissible(create));
}

TEST_CASE("a create's disk size is the image's (0) or within bounds, whole MiB") {
  VmCreateBeginRequest begin;
  begin.spec.image = "tiny";
  for (std::uint64_t ok : {std::uint64_t{0}, std::uint64_t{32} << 20, std::uint64_t{2} << 30,
                           std::uint64_t{2} << 40}) {
    begin.spec.disk_bytes = ok;
    CHECK_MESSAGE(admissible(begin), ok);
  }
  for (std::uint64_t bad : {std::uint64_t{1}, std::uint64_t{16} << 20,
                            (std::uint64_t{2} << 40) + (std::uint64_t{1} << 20),
                            (std::uint64_t{2} << 30) + 4096, ~std::uint64_t{0}}) {
    begin.spec.disk_bytes = bad;
    CHECK_MESSAGE(code_of(admissible(begin)) == Errc::invalid_argument, bad);
    VmCreateRequest create{{}, begin.spec};
    CHECK(code_of(admissible(create)) == Errc::invalid_argument);
  }
}

TEST_CASE("a create's published ports follow the rules the CLI and the helper use") {
  VmCreateBeginRequest begin;
  begin.spec.image = "tiny";
  begin.spec.ports = {{18080, 8080, "tcp"}, {18080, 8080, "udp"}};
  CHECK(admissible(begin));
  for (auto bad : std::vector<std::vector<PortMapping>>{{{0, 80, "tcp"}},
                                                        {{80, 0, "tcp"}},
                                                        {{80, 80, "icmp"}},
                                                        {{80, 80, "tcp"}, {80, 81, "tcp"}}}) {
    begin.spec.ports = bad;
    CHECK(code_of(admissible(begin)) == Errc::invalid_argument);
    VmCreateRequest create{{}, begin.spec};
    CHECK(code_of(admissible(create)) == Errc::invalid_argument);
  }
  begin.spec.ports.clear();
  for (std::uint16_t p = 1; p <= 33; ++p)
    begin.spec.ports.push_back({p, p, "tcp"});
  CHECK(code_of(admissible(begin)) == Errc::invalid_argument);
}

TEST_CASE("wait is for start and restart, a signal for kill") {
  auto start = action(VmAction::start);
  start.wait = true;
  CHECK(admissible(start));
  auto restart = action(VmAction::restart);
  restart.wait = true;
  CHECK(admissible(restart));
  auto stop = action(VmAction::stop);
  stop.wait = true;
  CHECK(code_of(admissible(stop)) == Errc::invalid_argument);
  auto kill = action(VmAction::kill);
  kill.signal = "KILL";
  CHECK(admissible(kill));
  auto start_with_signal = action(VmAction::start);
  start_with_signal.signal = "KILL";
  CHECK(code_of(admissible(start_with_signal)) == Errc::invalid_argument);
}

TEST_CASE("no_wait goes with start and restart only, and never with wait") {
  VmCreateRequest create;
  create.spec.image = "tiny";
  create.spec.no_wait = true;
  CHECK(code_of(admissible(create)) == Errc::invalid_argument);
  create.spec.start = true;
  CHECK(admissible(create));
  create.spec.wait = true;
  CHECK(code_of(admissible(create)) == Errc::invalid_argument);
  for (auto kind : {VmAction::start, VmAction::restart}) {
    auto request = action(kind);
    request.no_wait = true;
    CHECK(admissible(request));
    request.wait = true;
    CHECK(code_of(admissible(request)) == Errc::invalid_argument);
  }
  auto stop = action(VmAction::stop);
  stop.no_wait = true;
  CHECK(code_of(admissible(stop)) == Errc::invalid_argument);
}

TEST_CASE("boot args with a control character are refused, ordinary ones admitted") {
  CHECK(admissible(image("console=ttyS0 reboot=k panic=1")));
  CHECK(admissible(image("")));
  for (const std::string& bad : std::vector<std::string>{
         "console=ttyS0\ninit=/bin/sh", std::string("a\0b", 3), "a\tb", "a\x7f", "a\rb"}) {
    auto uut = admissible(image(bad));
    REQUIRE_FALSE(uut);
    CHECK(uut.error().code == Errc::invalid_argument);
    CHECK(uut.error().message.find("boot args") != std::string::npos);
  }
}

TEST_CASE("text longer than its field allows is refused without being repeated") {
  VmShowRequest show;
  show.ref = std::string(1 << 20, 'a');
  auto uut = admissible(show);
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::invalid_argument);
  CHECK(uut.error().message.size() < 100);
  CHECK(code_of(admissible(image(std::string(max_boot_args_length + 1, 'x'))))
        == Errc::invalid_argument);
  auto path = image("");
  path.kernel_path = std::string(max_path_length + 1, '/');
  CHECK(code_of(admissible(path)) == Errc::invalid_argument);
}

TEST_CASE("an op status request must name an op id") {
  OpStatusRequest request;
  request.op_id = "op-0123456789ab";
  CHECK(admissible(request));
  request.op_id = "op-0123456789ab\n";
  CHECK(code_of(admissible(request)) == Errc::invalid_argument);
}

TEST_CASE("a kill with a signal outside the shared allow-list is refused at the edge") {
  auto kill = action(VmAction::kill);
  kill.signal = "STOP";
  CHECK(code_of(admissible(kill)) == Errc::invalid_argument);
  kill.signal = "sigterm";
  CHECK(admissible(kill));
  kill.signal = ""; // TERM
  CHECK(admissible(kill));
}

TEST_CASE("snapshot actions need a valid snapshot name; others take none") {
  for (auto what : {VmAction::snapshot, VmAction::restore, VmAction::snapshot_remove}) {
    auto request = action(what);
    CHECK(code_of(admissible(request)) == Errc::invalid_argument); // no name
    request.snapshot = "before-upgrade";
    CHECK(admissible(request));
    for (const std::string& bad : {std::string("-x"), std::string("Upper"), std::string("a/b"),
                                   std::string("../x"), std::string(64, 'a'),
                                   std::string("a\nb")}) {
      request.snapshot = bad;
      CHECK_MESSAGE(code_of(admissible(request)) == Errc::invalid_argument, bad);
    }
  }
  for (auto what : {VmAction::start, VmAction::pause, VmAction::resume, VmAction::suspend}) {
    auto request = action(what);
    CHECK(admissible(request));
    request.snapshot = "x";
    CHECK(code_of(admissible(request)) == Errc::invalid_argument);
  }
}

TEST_CASE("cold is for start; wait also for restore") {
  auto start = action(VmAction::start);
  start.cold = true;
  CHECK(admissible(start));
  auto suspend = action(VmAction::suspend);
  suspend.cold = true;
  CHECK(code_of(admissible(suspend)) == Errc::invalid_argument);
  auto restore = action(VmAction::restore);
  restore.snapshot = "s1";
  restore.wait = true;
  CHECK(admissible(restore));
  auto pause = action(VmAction::pause);
  pause.wait = true;
  CHECK(code_of(admissible(pause)) == Errc::invalid_argument);
}
