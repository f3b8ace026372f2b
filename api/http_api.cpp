#include "api/http_api.hpp"

#include "actors/daemon_metrics.hpp"
#include "api/exchange.hpp"
#include "api/routes.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"
#include "messages/tls.hpp"
#include "messages/tls_guard.hpp"

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <thread>

namespace banger::api {

namespace {

const log::Logger log_{"api"};

// -- the connection bound ----------------------------------------------------
//
// Connections are counted from accept() (on the listener thread) until their
// task ends (on a worker). accept() is banger's own (messages/tls_guard.cpp),
// and on the listener thread it asks admit_connection: over the bound, the
// connection is closed before any byte is read. One API per process.

std::atomic<std::uint32_t> open_connections{0};
std::atomic<std::uint32_t> max_connections{32};

bool admit_connection(int) {
  auto n = open_connections.fetch_add(1) + 1;
  if (n <= max_connections.load())
    return true;
  open_connections.fetch_sub(1);
  daemon_metrics().api_refused.add();
  return false;
}

/// cpp-httplib's task queue, with exactly as many workers as connections may
/// be open: an admitted connection never waits for a thread. The workers
/// are marked as not CAF's (tls_guard::foreign_thread).
class Workers : public httplib::TaskQueue {
public:
  explicit Workers(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      threads_.emplace_back([this] { run(); });
  }
  ~Workers() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock{mu_};
      jobs_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock{mu_};
      if (stopping_)
        return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

private:
  void run() {
    tls_guard::foreign_thread();
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock{mu_};
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty())
          return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job(); // serves the connection, then closes it
      open_connections.fetch_sub(1);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

/// Mutual TLS as on the CAF port (messages/tls.hpp): the daemon's
/// certificate, and a client certificate signed by the home's CA required.
bool setup_tls(SSL_CTX& ctx, const TlsFiles& files) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, files.certificate.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(&ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1 ||
      SSL_CTX_load_verify_locations(&ctx, files.ca.c_str(), nullptr) != 1)
    return false;
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(&ctx, 2);
  // A client resuming its TLS session (curl, browsers and Prometheus do
  // when they reconnect) is refused with an internal-error alert unless the
  // server names a session context while it verifies peers.
  static const unsigned char context[] = "banger-api";
  SSL_CTX_set_session_id_context(&ctx, context, sizeof context - 1);
  return true;
}

} // namespace

struct HttpApi::Impl {
  Impl(caf::actor_system& sys, control_actor control) : gateway(sys, std::move(control)) {}
  Gateway gateway;
  ApiContext ctx;
  std::unique_ptr<httplib::SSLServer> server;
  std::thread thread;
  std::uint16_t port = 0;
};

namespace {

/// Runs one route's handler: the op_id (the caller's, checked, or a new
/// one), the handler, its input errors and exceptions as error objects,
/// the metrics and one log line.
void run(HttpApi::Impl& impl, const Route& route, const httplib::Request& req,
         httplib::Response& res) {
  auto started = std::chrono::steady_clock::now();
  Exchange x{req, res, impl.gateway, impl.ctx, {}};
  auto given = req.get_header_value("X-Banger-Op-Id");
  if (!given.empty() && !is_valid_op_id(given)) {
    x.op_id = mint_op_id();
    x.fail(400, "invalid_argument",
           "malformed X-Banger-Op-Id (want op- and 12 lowercase hex digits)");
  } else {
    x.op_id = given.empty() ? mint_op_id() : given;
    try {
      route.handle(x);
    } catch (const BadRequest& bad) {
      x.fail(bad.status, bad.code, bad.what());
    } catch (const std::exception& e) {
      log_.error("API handler failed", {{"op_id", x.op_id}, {"path", req.path}, {"error", e.what()}});
      x.fail(500, "internal", std::string("the API failed: ") + e.what());
    }
  }
  res.set_header("X-Banger-Op-Id", x.op_id);
  auto seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto& m = daemon_metrics();
  m.api_requests.add({{"method", req.method}, {"code", std::to_string(res.status)}});
  m.api_seconds.observe({{"method", req.method}}, seconds);
  log_.debug("request", {{"op_id", x.op_id}, {"method", req.method}, {"route", route.path},
                         {"status", static_cast<std::int64_t>(res.status)},
                         {"ms", log::Millis{static_cast<std::int64_t>(seconds * 1e6)}}});
}

/// The error object for what never reached a route (no such route, a body
/// over api.max-body).
void answer_unrouted(const httplib::Request& req, httplib::Response& res) {
  std::string code = "invalid_argument";
  std::string message = "the request is malformed";
  switch (res.status) {
    case 400:
      message = "the request is malformed (a POST or PUT needs a Content-Length; an empty body "
                "is Content-Length: 0)";
      break;
    case 404:
      code = "not_found";
      message = "no route " + req.method + " " + req.path + " (docs/api.md)";
      break;
    case 413:
      code = "payload_too_large";
      message = "the request body is over api.max-body";
      break;
    case 414:
      code = "uri_too_long";
      message = "the request line is too long";
      break;
    default:
      code = "http_" + std::to_string(res.status);
      message = "the request was refused";
  }
  auto op_id = mint_op_id();
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}, {"op_id", op_id}}}};
  res.set_content(j.dump() + "\n", "application/json");
  res.set_header("X-Banger-Op-Id", op_id);
}

} // namespace

HttpApi::HttpApi(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpApi::~HttpApi() {
  stop();
}

std::uint16_t HttpApi::port() const {
  return impl_->port;
}

void HttpApi::stop() {
  if (impl_->server)
    impl_->server->stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

Result<std::unique_ptr<HttpApi>> HttpApi::start(caf::actor_system& sys, control_actor control,
                                                const Settings& settings, const HomeLayout& home) {
  auto files = tls_files(home, TlsRole::daemon);
  if (auto st = check_tls_files(files, "run banger init"); !st)
    return std::move(st).error();
  auto impl = std::make_unique<Impl>(sys, std::move(control));
  impl->ctx.settings = settings;
  impl->ctx.home = home.home().string();
  bool tls_ok = true;
  impl->server = std::make_unique<httplib::SSLServer>(
    [&files, &tls_ok](SSL_CTX& ctx) { return tls_ok = setup_tls(ctx, files); });
  if (!tls_ok || !impl->server->is_valid())
    return Error{Errc::invalid_argument, "api: cannot use the TLS files in " + home.tls_dir().string()};
  auto& server = *impl->server;
  max_connections = settings.api_max_connections;
  auto workers = settings.api_max_connections;
  server.new_task_queue = [workers] { return new Workers(workers); };
  auto timeout = settings.api_timeout;
  server.set_read_timeout(timeout);
  server.set_write_timeout(timeout);
  server.set_keep_alive_timeout(std::max<time_t>(1, std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
  server.set_keep_alive_max_count(1000);
  // Replies are one write each: Nagle would hold a reply's last segment for
  // the client's delayed ACK (40 ms a request).
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(settings.api_max_body);
  auto* raw = impl.get();
  for (const auto& route : routes()) {
    auto handler = [raw, &route](const httplib::Request& req, httplib::Response& res) {
      run(*raw, route, req, res);
    };
    std::string method = route.method;
    auto pattern = route_regex(route.path);
    if (method == "GET")
      server.Get(pattern, handler);
    else if (method == "POST")
      server.Post(pattern, handler);
    else if (method == "PUT")
      server.Put(pattern, handler);
    else if (method == "DELETE")
      server.Delete(pattern, handler);
  }
  // cpp-httplib calls this for every status >= 400, routed or not: a
  // route's own error object stays.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
    [](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty())
      return httplib::Server::HandlerResponse::Unhandled;
    answer_unrouted(req, res);
    return httplib::Server::HandlerResponse::Handled;
  }));
  // Bound and served on a thread of its own, marked as not CAF's before its
  // listen() and accept() (tls_guard::foreign_thread).
  std::promise<int> bound;
  auto bound_port = bound.get_future();
  auto listen = settings.api_listen;
  auto port = settings.api_port;
  impl->thread = std::thread([raw, &bound, listen, port] {
    tls_guard::foreign_thread(&admit_connection);
    if (!raw->server->bind_to_port(listen.c_str(), port)) {
      bound.set_value(-1);
      return;
    }
    bound.set_value(port);
    raw->server->listen_after_bind();
  });
  if (bound_port.get() < 0) {
    impl->thread.join();
    return Error{Errc::system, "api: cannot listen on " + listen + ":" + std::to_string(port)
                                 + " (in use, or not an address of this host)"};
  }
  impl->port = port;
  return std::unique_ptr<HttpApi>(new HttpApi(std::move(impl)));
}

} // namespace banger::api
