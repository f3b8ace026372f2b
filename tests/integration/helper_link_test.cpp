// The link between bangerd and banger-helper: its liveness ping is cheap
// (answered from what the helper probed at start, not logged per ping), and
// a helper that is only slow for a while keeps its link and the requests in
// flight over it.
#include "tests/integration/helper_client.hpp"
#include "tests/integration/helpers.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;

namespace {

/// Lines of the helper's log that completed a request of `method`.
std::size_t completed(const Host& host, const std::string& method) {
  std::size_t n = 0;
  for (const auto& line : host.helper_log()) {
    auto entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_object() && entry.value("msg", "") == "helper rpc completed"
        && entry.value("method", "") == method)
      ++n;
  }
  return n;
}

bool logged(const Host& host, const std::string& needle) {
  for (const auto& line : host.helper_log())
    if (line.find(needle) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("the helper's liveness ping is answered from memory and logs nothing per ping") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  HelperClient helper(host);
  constexpr int pings = 20;
  for (int i = 0; i < pings; ++i) {
    auto info = helper.ask<HelperInfo>(HelperInfoRequest{});
    REQUIRE_MESSAGE(info.ok(), (info.ok() ? "" : info.error().message));
    CHECK_FALSE(info->rootfs_strategies.empty());
  }
  // A request that is logged, after the pings: once its line is there,
  // every line the pings wrote is too.
  RuntimeRemoveRequest marker;
  marker.env.op_id = "op-0000000000ab";
  marker.vm_id = "0123456789abcdef";
  (void)helper.ask<Ack>(marker);
  REQUIRE(eventually([&] { return logged(host, marker.env.op_id); }));
  CHECK(completed(host, "info") == 0);
  // What the pings no longer probe is still reported, as probed at start.
  auto status = host.ask<DaemonStatus>(DaemonStatusRequest{});
  REQUIRE(status.ok());
  CHECK(status->helper_reachable);
  CHECK(std::find(status->rootfs_strategies.begin(), status->rootfs_strategies.end(),
                  "sparse-copy")
        != status->rootfs_strategies.end());
  CHECK(status->accel.find('(') != std::string::npos); // "tcg (reason)" or "kvm (reason)"
}

TEST_CASE("a helper that stops answering for a few seconds keeps its link and the request in flight") {
  BANGER_REQUIRE_ROOT();
  Running env;
  auto& host = env.host;
  // Longer than one ping's timeout, shorter than the silence that counts as
  // a lost helper (helper_link_actor.cpp): slow, not gone.
  constexpr auto stalled = 6500ms;
  host.signal_helper(SIGSTOP);
  auto resumed = std::chrono::steady_clock::now() + stalled;
  Result<VmRecord> created = Error{Errc::internal, "not answered"};
  std::thread creator([&] { created = create_vm(host, "patient", false); });
  // The length of the stall is the fault being injected, not a wait for
  // something to happen.
  std::this_thread::sleep_until(resumed);
  host.signal_helper(SIGCONT);
  creator.join();
  CHECK_MESSAGE(created.ok(), (created.ok() ? "" : created.error().message));
  bool lost = false;
  for (const auto& line : host.daemon_log())
    if (line.find("did not answer its pings") != std::string::npos
        || line.find("did not answer a ping") != std::string::npos)
      lost = true;
  CHECK_FALSE(lost);
}
