// Routes that go through a VM's guest agent: exec (a command run to its
// end, its output collected) and files (read streamed out, written in
// chunks), as `vm exec` and `vm cp` drive the same sessions.
#include "api/handlers.hpp"

#include "messages/numbers.hpp"

#include <memory>

namespace banger::api {

namespace {

using nlohmann::json;

/// The most output an exec collects before it ends the command's session
/// and answers with what it has (`truncated`).
constexpr std::size_t max_exec_output = 16u << 20;

std::chrono::milliseconds io_timeout() {
  return std::chrono::milliseconds(session_max_wait_ms) + std::chrono::seconds(30);
}

VmSessionIoRequest io_request(Exchange& x, const std::string& vm_id, std::uint32_t session) {
  VmSessionIoRequest r;
  r.env = x.env();
  r.ref = vm_id;
  r.session = session;
  r.wait_ms = session_max_wait_ms;
  return r;
}

void close_session(Exchange& x, const std::string& vm_id, std::uint32_t session) {
  auto r = io_request(x, vm_id, session);
  r.close = true;
  r.wait_ms = 0;
  (void)x.gateway.call<VmSessionIo>(r, io_timeout());
}

/// The guest path of ?path=, which must be absolute.
std::string guest_path(Exchange& x) {
  auto path = x.query("path");
  if (path.empty() || path.front() != '/')
    throw BadRequest("query parameter path must be an absolute path in the guest");
  return path;
}

} // namespace

void vm_exec(Exchange& x) {
  auto body = x.body({"argv", "env", "cwd", "stdin"});
  VmExecRequest req;
  req.env = x.env();
  req.ref = x.param(1);
  read(body, "argv", req.argv);
  read(body, "env", req.environment);
  read(body, "cwd", req.cwd);
  std::string input;
  read(body, "stdin", input);
  if (req.argv.empty())
    throw BadRequest("field argv is required (the command and its arguments)");
  auto started = x.ask<VmSessionStarted>(std::move(req), read_timeout());
  if (!started)
    return;
  std::string out, err;
  bool truncated = false;
  auto deadline = std::chrono::steady_clock::now() + lifecycle_timeout(x.ctx.settings);
  std::size_t sent = 0;
  for (;;) {
    auto r = io_request(x, started->vm_id, started->session);
    if (!r.input_eof) {
      auto n = std::min(max_session_chunk, input.size() - sent);
      r.input = input.substr(sent, n);
      sent += n;
      r.input_eof = sent >= input.size();
    }
    auto io = x.ask<VmSessionIo>(std::move(r), io_timeout());
    if (!io)
      return;
    out += io->out;
    err += io->err;
    if (io->ended) {
      x.reply(200, {{"stdout", out},
                    {"stderr", err},
                    {"exit_code", io->exit_code},
                    {"exit_signal", io->exit_signal},
                    {"truncated", false}});
      return;
    }
    if (out.size() + err.size() > max_exec_output) {
      truncated = true;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline)
      break;
  }
  close_session(x, started->vm_id, started->session);
  if (!truncated) {
    x.fail(504, "timeout", "the command did not end in time; its session was closed");
    return;
  }
  x.reply(200, {{"stdout", out}, {"stderr", err}, {"exit_code", -1}, {"exit_signal", 0},
                {"truncated", true}});
}

void vm_file_get(Exchange& x) {
  VmFileReadRequest req;
  req.env = x.env();
  req.ref = x.param(1);
  req.path = guest_path(x);
  auto started = x.ask<VmSessionStarted>(std::move(req), read_timeout());
  if (!started)
    return;
  // Streamed as the agent sends it: the whole file is never held here.
  struct Stream {
    VmSessionStarted started;
    bool ended = false;
  };
  auto stream = std::make_shared<Stream>(Stream{*started});
  auto env = x.env();
  auto& gateway = x.gateway;
  x.res.status = 200;
  x.res.set_chunked_content_provider(
    "application/octet-stream",
    [stream, env, &gateway](std::size_t, httplib::DataSink& sink) {
      VmSessionIoRequest r;
      r.env = env;
      r.ref = stream->started.vm_id;
      r.session = stream->started.session;
      r.wait_ms = session_max_wait_ms;
      auto answer = gateway.call<VmSessionIo>(r, io_timeout());
      auto* io = std::get_if<VmSessionIo>(&answer);
      if (io == nullptr)
        return false; // the client sees a cut-off body, never a partial file as whole
      if (!io->out.empty() && !sink.write(io->out.data(), io->out.size()))
        return false;
      if (io->ended) {
        stream->ended = true;
        sink.done();
      }
      return true;
    },
    [stream, env, &gateway](bool) {
      if (stream->ended)
        return;
      VmSessionIoRequest r;
      r.env = env;
      r.ref = stream->started.vm_id;
      r.session = stream->started.session;
      r.close = true;
      (void)gateway.call<VmSessionIo>(r, io_timeout());
    });
}

void vm_file_put(Exchange& x) {
  VmShowRequest show{x.env(), x.param(1)};
  auto vm = x.ask<VmRecord>(std::move(show), read_timeout());
  if (!vm)
    return;
  VmFileWriteRequest r;
  r.ref = vm->id;
  r.path = guest_path(x);
  auto mode_text = x.query("mode", "0644");
  std::uint32_t mode = 0;
  for (char c : mode_text) {
    if (c < '0' || c > '7' || mode > 07777)
      throw BadRequest("query parameter mode must be octal (e.g. 0644)");
    mode = mode * 8 + static_cast<std::uint32_t>(c - '0');
  }
  if (mode_text.empty() || mode > 07777)
    throw BadRequest("query parameter mode must be octal 0-7777");
  r.mode = mode;
  const auto& data = x.req.body;
  r.size = data.size();
  std::size_t sent = 0;
  do {
    r.env = x.env();
    auto n = std::min(max_session_chunk, data.size() - sent);
    r.data = data.substr(sent, n);
    sent += n;
    r.last = sent >= data.size();
    auto written = x.ask<VmFileWritten>(r, read_timeout());
    if (!written)
      return;
    r.session = written->session;
    if (r.last && !written->done) {
      x.fail(409, "conflict", "the guest did not commit the file");
      return;
    }
  } while (sent < data.size());
  x.reply(200, {{"path", r.path}, {"written", data.size()}});
}

} // namespace banger::api
