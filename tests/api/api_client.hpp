// The HTTP API as a user reaches it: a test home with the API on (the host
// fixture, api.port set), and curl with the CLI's client certificate, as
// docs/api.md shows. Replies are taken apart: status, headers, body.
#pragma once

#include "tests/support/host_fixture.hpp"
#include "tests/support/skip.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace banger::test {

struct HttpReply {
  int status = 0;   ///< 0: curl got no HTTP answer (see curl_exit)
  int curl_exit = 0;
  std::map<std::string, std::string> headers; ///< names in lower case
  std::string body;
  std::string error; ///< curl's stderr

  nlohmann::json json() const;
  std::string header(const std::string& name) const;
  /// The error object's code ("" if the body is not one).
  std::string error_code() const;
};

class ApiHost {
public:
  /// `sets`: more banger init --set KEY=VALUE; `env`: the helper's (and so
  /// fc-stub's) extra environment, as HostOptions.
  explicit ApiHost(std::vector<std::string> sets = {}, std::vector<std::string> env = {});

  Host& host() { return host_; }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  /// Starts helper and daemon and waits until both answer.
  void start();

  /// curl -X METHOD with the client certificate; a non-empty `json_body`
  /// is sent as application/json. `extra`: more curl arguments.
  HttpReply call(const std::string& method, const std::string& path,
                 const std::string& json_body = "", std::vector<std::string> extra = {});
  HttpReply get(const std::string& path) { return call("GET", path); }

  /// The client certificate's files, for other clients (Prometheus, a browser).
  std::string cert() const { return host_.path("tls/client.pem"); }
  std::string key() const { return host_.path("tls/client.key"); }
  std::string ca() const { return host_.path("tls/ca.pem"); }

private:
  std::uint16_t port_;
  Host host_;
  int bodies_ = 0;
};

/// Whether `program` is on PATH.
bool have_program(const std::string& program);

/// Skips the calling test case unless it can run here: root (the daemon's
/// helper) and curl.
#define BANGER_REQUIRE_API_TOOLS()                                             \
  do {                                                                         \
    BANGER_REQUIRE_ROOT();                                                     \
    if (!::banger::test::have_program("curl"))                                 \
      BANGER_SKIP("curl is not installed");                                    \
  } while (false)

} // namespace banger::test
