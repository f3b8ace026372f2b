// bangerd's HTTP/JSON API (docs/api.md): cpp-httplib serving the route table
// (api/routes.hpp) over mutual TLS with the home's CA, on its own threads.
//
// Why cpp-httplib: Debian 12 packages it (libcpp-httplib-dev, built with
// OpenSSL), it is small and widely used, and its blocking
// thread-per-connection model fits an adapter whose every request waits on
// one actor reply; it lets us own the SSL_CTX (mutual TLS, TLS 1.2+), the
// task queue (the connection bound) and the read/write timeouts (slow
// clients). civetweb is not in Debian 12, and Boost.Beast would have us
// write the connection handling this library already has.
#pragma once

#include "messages/cli_protocol.hpp"
#include "messages/home_layout.hpp"
#include "messages/result.hpp"
#include "messages/settings.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>

namespace banger::api {

class HttpApi {
public:
  /// Binds api.listen:api.port and serves until stop(). An error (the port
  /// is taken, the TLS files are unusable) is returned, not thrown.
  static Result<std::unique_ptr<HttpApi>> start(caf::actor_system& sys, control_actor control,
                                                const Settings& settings, const HomeLayout& home);
  ~HttpApi();

  std::uint16_t port() const;
  /// Stops accepting, ends the server thread; open event streams end at
  /// their next poll.
  void stop();

  struct Impl;

private:
  explicit HttpApi(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace banger::api
