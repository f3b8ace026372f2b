// The API's routes, in one table: what the server registers and what
// api_openapi_test compares with docs/api.yaml (both directions).
#pragma once

#include "api/exchange.hpp"

#include <string>
#include <vector>

namespace banger::api {

struct Route {
  const char* method;   ///< "GET", "POST", "PUT", "DELETE"
  const char* path;     ///< OpenAPI's template: "/v1/vms/{ref}/start"
  void (*handle)(Exchange&);
};

const std::vector<Route>& routes();

/// The path's template as the server's regex: each {param} matches one
/// path segment, captured in order.
std::string route_regex(const std::string& path);

} // namespace banger::api
