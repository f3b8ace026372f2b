// The helper's trust boundary with a real banger-helper (fc-stub as the
// VMM): requests sent to it directly, as a compromised daemon could, and
// images registered through bangerd as any client can.
#include "tests/integration/helpers.hpp"

#include "messages/config.hpp"
#include "messages/op_id.hpp"
#include "messages/remote_call.hpp"
#include "messages/tls.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <filesystem>
#include <fstream>

using namespace banger;
using namespace banger::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// banger-helper over mutual TLS with the daemon's certificate and the
/// helper credential: everything a compromised bangerd could send.
struct HelperClient {
  Config cfg;
  std::unique_ptr<caf::actor_system> sys;
  helper_actor helper;
  std::string credential;

  explicit HelperClient(const Host& host) {
    REQUIRE(cfg.read(host.home(), {}));
    REQUIRE(enable_tls(cfg, HomeLayout{host.home()}, TlsRole::daemon));
    std::ifstream(host.path("state/helper.token")) >> credential;
    auto port = cfg.settings.helper_port;
    sys = std::make_unique<caf::actor_system>(cfg);
    REQUIRE(eventually(
      [&] {
        auto handle = caf::openssl::remote_actor<helper_actor>(*sys, "127.0.0.1", port);
        if (handle)
          helper = *handle;
        return static_cast<bool>(handle);
      },
      20s, 20ms));
  }

  template <class Reply, class Request>
  Result<Reply> ask(Request request) {
    if (request.env.op_id.empty())
      request.env.op_id = mint_op_id();
    request.env.credential = credential;
    auto reply = remote_call<Reply>(*sys, helper, request, 10s);
    if (!reply)
      return describe_error(reply.error());
    return std::move(*reply);
  }
};

template <class T>
Errc code_of(const Result<T>& r) {
  return r ? Errc::none : r.error().code;
}

} // namespace

TEST_CASE("banger-helper answers a request of another protocol version with bad_version") {
  BANGER_REQUIRE_ROOT();
  Running env;
  HelperClient helper(env.host);
  CHECK(helper.ask<HelperInfo>(HelperInfoRequest{}));
  for (auto version : {protocol_version + 1, protocol_version - 1, 0u}) {
    CAPTURE(version);
    HelperInfoRequest info;
    info.env.version = version;
    CHECK(code_of(helper.ask<HelperInfo>(info)) == Errc::bad_version);
    RuntimeRemoveRequest remove;
    remove.env.version = version;
    remove.vm_id = "0123456789abcdef";
    CHECK(code_of(helper.ask<Ack>(remove)) == Errc::bad_version);
  }
}
