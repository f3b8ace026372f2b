// The BASP payload cap (messages/basp_meter.hpp) in the real processes: an
// authenticated peer announcing 1 GiB made bangerd, and banger-helper with
// only a client certificate, allocate it before any payload or token
// arrived. Now the connection is dropped, memory stays put, the drop is
// logged and everyone else is still served.
#include "tests/integration/helpers.hpp"
#include "tests/support/raw_tls.hpp"

#include <fstream>
#include <string>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

bool logged(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& line : lines)
    if (line.find(text) != std::string::npos)
      return true;
  return false;
}

// A client_handshake header (operation 0x01, no actors) claiming 1 GiB.
void announce_a_gigabyte(RawTls& raw) {
  unsigned char header[32] = {0x01, 0, 0, 0, 0x40, 0x00, 0x00, 0x00};
  REQUIRE(SSL_write(raw.ssl, header, sizeof header) ==
          static_cast<int>(sizeof header));
}

} // namespace

TEST_CASE("bangerd and banger-helper drop a peer announcing a 1 GiB BASP "
          "payload and stay small") {
  BANGER_REQUIRE_ROOT();
  Host host;
  host.start_helper();
  host.start_daemon();
  host.wait_ready();
  auto files = tls_files(HomeLayout{host.home()}, TlsRole::client);
  struct Target {
    const char* name;
    pid_t pid;
    std::uint16_t port;
  };
  for (auto target :
       {Target{"bangerd", host.daemon_pid(), host.daemon_port()},
        Target{"banger-helper", host.helper_pid(), host.helper_port()}}) {
    INFO(std::string(target.name));
    auto before = rss_kib(target.pid);
    RawTls raw(files, target.port);
    REQUIRE(raw.greeted_within(5s));
    announce_a_gigabyte(raw);
    CHECK_MESSAGE(raw.closed_within(5s),
                  "the connection that announced 1 GiB stayed open");
    auto after = rss_kib(target.pid);
    MESSAGE(std::string(target.name)
            << " VmRSS " << before << " KiB before, " << after << " KiB after");
    CHECK(after < before + 64 * 1024);
  }
  // Everyone else is still served: the CLI's connection, the helper link.
  host.wait_ready();
  auto log_says = [](const std::vector<std::string>& lines) {
    return logged(lines, "BASP header announces more payload") &&
           logged(lines, "1073741824");
  };
  CHECK(eventually([&] { return log_says(host.daemon_log()); }, 5s));
  CHECK(eventually([&] { return log_says(host.helper_log()); }, 5s));
}
