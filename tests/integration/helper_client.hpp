// banger-helper spoken to directly, over mutual TLS with the daemon's
// certificate and the helper credential: what a compromised bangerd could
// send, and a way to ask the helper without the daemon's link in between.
#pragma once

#include "messages/config.hpp"
#include "messages/op_id.hpp"
#include "messages/remote_call.hpp"
#include "messages/tls.hpp"
#include "tests/support/host_fixture.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <doctest/doctest.h>

#include <fstream>
#include <memory>

namespace banger::test {

/// banger-helper over mutual TLS with the daemon's certificate and the
/// helper credential: everything a compromised bangerd could send.
struct HelperClient {
  Config cfg;
  std::unique_ptr<caf::actor_system> sys;
  helper_actor helper;
  std::string credential;

  explicit HelperClient(const Host& host) {
    using namespace std::chrono_literals;
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
  Result<Reply> ask(Request request, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (request.env.op_id.empty())
      request.env.op_id = mint_op_id();
    request.env.credential = credential;
    auto reply = remote_call<Reply>(*sys, helper, request, timeout);
    if (!reply)
      return describe_error(reply.error());
    return std::move(*reply);
  }
};

} // namespace banger::test
