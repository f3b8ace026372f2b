// Connections to the API socket: accepting them, reading and framing
// requests (micro_http), answering each through the router, the fault table
// and the VMM, and writing the replies.
#include "tools/fc-stub/server_connection.hpp"

#include "tools/fc-stub/api.hpp"
#include "tools/fc-stub/system.hpp"

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace banger::fc_stub {
namespace {

// micro_http serves at most this many connections at once.
constexpr std::size_t connection_limit = 10;
constexpr std::string_view server_full_reply =
    "HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\n"
    "Content-Length: 40\r\n\r\n{ \"error\": \"Too many open connections\" }";

std::string_view status_text(int status) {
  switch (status) {
  case 200:
    return "200 OK";
  case 204:
    return "204 No Content";
  case 400:
    return "400 Bad Request";
  case 413:
    return "413 Payload too large";
  default:
    return "500 Internal Server Error";
  }
}

// Rust's `{:?}` of a Method.
std::string_view method_debug(const std::string& method) {
  if (method == "GET")
    return "Get";
  if (method == "PUT")
    return "Put";
  if (method == "PATCH")
    return "Patch";
  return "Delete";
}

} // namespace

std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Server::accept_connections() {
  for (;;) {
    int descriptor =
        ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (descriptor < 0)
      return;
    if (connections_.size() >= connection_limit) {
      write_all(descriptor, server_full_reply);
      ::close(descriptor);
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->descriptor = descriptor;
    connections_.push_back(std::move(connection));
  }
}

void Server::read_from(Connection& connection) {
  char chunk[16384];
  for (;;) {
    ssize_t got = ::recv(connection.descriptor, chunk, sizeof chunk, 0);
    if (got > 0) {
      connection.input.append(chunk, static_cast<std::size_t>(got));
      continue;
    }
    if (got == 0 || (errno != EAGAIN && errno != EINTR))
      connection.peer_closed = true;
    if (got < 0 && errno == EINTR)
      continue;
    break;
  }
  process_input(connection);
}

void Server::process_input(Connection& connection) {
  while (!connection.delayed && !connection.close_after_flush && !exit_code_) {
    http::ParseResult parsed =
        http::parse_request(connection.input, settings_.payload_limit);
    if (parsed.status == http::ParseStatus::Incomplete) {
      if (parsed.wants_continue && !connection.continue_sent) {
        connection.continue_sent = true;
        queue(connection, http::continue_response());
      }
      return;
    }
    if (parsed.status == http::ParseStatus::Invalid) {
      logger_.error("API Server error on retrieving incoming request: "
                    "Connection error: Parsing error: " +
                        parsed.error,
                    "fc_api");
      connection.input.clear();
      connection.close_after_flush = true;
      queue(connection,
            http::serialize(http::parse_error_response(parsed.error)));
      return;
    }
    connection.input.erase(0, parsed.consumed);
    connection.continue_sent = false;
    std::int64_t start_ns = realtime_ns();
    if (faults_.response_delay_ms > 0) {
      connection.delayed = std::move(parsed.request);
      connection.delayed_start_ns = start_ns;
      connection.delayed_until_ms = monotonic_ms() + faults_.response_delay_ms;
      return;
    }
    serve(connection, parsed.request, start_ns);
  }
}

void Server::serve(Connection& connection, const http::Request& request,
                   std::int64_t start_ns) {
  std::string description = std::string(method_debug(request.method)) +
                            " request on " + quoted(request.path);
  if (request.body && request.path != "/mmds")
    description += " with body " + quoted(*request.body);
  logger_.info("The API server received a " + description + ".", "fc_api");

  Routed routed = route(request);
  http::Response response;
  std::string fault_message;
  if (const auto* fault = std::get_if<ApiFault>(&routed.outcome)) {
    response.status = fault->status;
    fault_message = fault->message;
  } else if (const EndpointFault* injected = faults_.failing(
                 request.method, request.path, routed.action_name)) {
    response.status = 400;
    fault_message = "injected fault: " + injected->text;
  } else {
    const auto& action = std::get<VmmAction>(routed.outcome);
    Outcome outcome = vmm_.handle(action);
    response.status = outcome.status;
    response.body = std::move(outcome.body);
    if (response.status >= 400)
      fault_message = nlohmann::json::parse(response.body)["fault_message"];
    if (!action.deprecation.empty() && response.status < 300) {
      response.deprecation = true;
      logger_.warn(action.deprecation, "fc_api");
    }
  }
  if (response.status >= 400) {
    if (response.body.empty())
      response.body = http::fault_body(fault_message);
    logger_.error("Received Error. Status code: " +
                      std::string(status_text(response.status)) +
                      ". Message: " + fault_message,
                  "fc_api");
  } else {
    logger_.info("The request was executed successfully. Status code: " +
                     std::string(status_text(response.status)) + ".",
                 "fc_api");
  }

  // The line is appended just before the reply goes out, so a client that
  // has seen a reply always finds its line in the log; end_ns is taken then.
  request_log_.append(
      RequestRecord{.method = request.method,
                    .path = request.path.empty() ? request.uri : request.path,
                    .status = response.status,
                    .start_ns = start_ns,
                    .end_ns = realtime_ns(),
                    .action = routed.action_name});
  queue(connection, http::serialize(response));
}

void Server::queue(Connection& connection, std::string_view bytes) {
  connection.output += bytes;
  flush(connection);
}

void Server::flush(Connection& connection) {
  while (!connection.output.empty()) {
    ssize_t written = ::send(connection.descriptor, connection.output.data(),
                             connection.output.size(), MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN) {
        connection.peer_closed = true;
        connection.output.clear();
      }
      break;
    }
    connection.output.erase(0, static_cast<std::size_t>(written));
  }
}

void Server::finish_connections() {
  // Give clients the responses already queued (the 204 to SendCtrlAltDel
  // in particular) before the process goes away.
  std::int64_t deadline = monotonic_ms() + 100;
  for (auto& connection : connections_) {
    while (!connection->output.empty() && !connection->peer_closed &&
           monotonic_ms() < deadline) {
      pollfd watched{connection->descriptor, POLLOUT, 0};
      ::poll(&watched, 1, 10);
      flush(*connection);
    }
  }
}

} // namespace banger::fc_stub
