// One HTTP request as a handler sees it: its op_id, its path parameters,
// its JSON body read strictly (api/json_input.hpp), and
// the ways to answer (a JSON object, or the error object of docs/api.md
// with the HTTP status its code maps to).
#pragma once

#include "api/gateway.hpp"
#include "api/json_input.hpp"
#include "messages/errc.hpp"
#include "messages/settings.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace banger::api {

/// The HTTP status for a daemon error code (docs/api.md).
int http_status(Errc code);

struct ApiContext {
  Settings settings;
  std::string home;
};

struct Exchange {
  const httplib::Request& req;
  httplib::Response& res;
  Gateway& gateway;
  const ApiContext& ctx;
  std::string op_id;

  Envelope env() const {
    Envelope e;
    e.op_id = op_id;
    return e;
  }
  /// Path parameter `i` (1-based, in the route's order), already checked
  /// for length and control characters.
  std::string param(std::size_t i) const;
  /// The body as a JSON object (an empty body is {}); `allowed` lists the
  /// fields it may have.
  nlohmann::json body(std::span<const std::string_view> allowed) const;
  nlohmann::json body(std::initializer_list<std::string_view> allowed) const {
    return body(std::span<const std::string_view>(allowed.begin(), allowed.size()));
  }
  /// A query parameter, or `fallback` when absent.
  std::string query(const std::string& key, const std::string& fallback = {}) const;
  /// A query parameter that must be an unsigned integer up to `max`.
  std::uint64_t query_number(const std::string& key, std::uint64_t fallback,
                             std::uint64_t max) const;

  void reply(int status, const nlohmann::json& object);
  void fail(const ErrorView& error);
  void fail(int status, std::string_view code, const std::string& message);

  /// The reply of `request`, or the error answered and nullopt.
  template <class Reply, class Request>
  std::optional<Reply> ask(Request request, std::chrono::milliseconds timeout) {
    auto answer = gateway.call<Reply>(std::move(request), timeout);
    if (auto* error = std::get_if<ErrorView>(&answer)) {
      fail(*error);
      return std::nullopt;
    }
    return std::get<Reply>(std::move(answer));
  }
};

/// How long a request may wait for the daemon: reads are quick; a
/// lifecycle request may wait for a guest (vmm.boot-timeout) and a stop for
/// its graces.
std::chrono::milliseconds read_timeout();
std::chrono::milliseconds lifecycle_timeout(const Settings& settings);

} // namespace banger::api
