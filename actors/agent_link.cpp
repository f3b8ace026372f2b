#include "actors/agent_link.hpp"

#include "messages/agent_wire.hpp"
#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/log.hpp"
#include "messages/sheltered.hpp"

#include <caf/all.hpp>

#include <cerrno>
#include <chrono>
#include <map>
#include <optional>

namespace banger {

namespace {

constexpr log::Logger log_{"agent"};

using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using poll_end_atom = caf::atom_constant<caf::atom("pollend")>;
using wait_end_atom = caf::atom_constant<caf::atom("waitend")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using hello_due_atom = caf::atom_constant<caf::atom("hellodue")>;

/// An open stream that brings no hello in this time is closed and made
/// again. Under QEMU the socket is QEMU's and always accepts, so an open
/// stream says nothing of the guest: a restored guest's port may still
/// think its previous host is there (it answers nobody), and a new
/// connection is what tells it otherwise.
constexpr auto hello_due = std::chrono::seconds(2);

using Clock = std::chrono::steady_clock;

/// An exec or read the CLI stopped polling for this long is ended (its
/// command killed): the CLI went away.
constexpr auto session_idle_timeout = std::chrono::seconds(60);
/// The agent answers a request that opens a channel (started, file_info) in
/// this time, or the request fails.
constexpr auto agent_answer_timeout = std::chrono::seconds(15);
constexpr auto sweep_every = std::chrono::seconds(5);

struct Session {
  enum class Kind { exec, read, write } kind = Kind::exec;
  std::string op_id;
  Clock::time_point touched = Clock::now();
  Clock::time_point opened = Clock::now();
  std::optional<caf::typed_response_promise<VmSessionStarted>> starting;
  std::optional<caf::typed_response_promise<VmSessionIo>> poll;
  std::uint64_t poll_seq = 0;
  std::optional<caf::typed_response_promise<VmFileWritten>> committing;
  std::string out, err;
  bool ended = false;
  std::int32_t exit_code = 0, exit_signal = 0;
  std::optional<Error> failure;
  /// Output bytes received, and window granted beyond the initial one.
  std::uint64_t received = 0, granted = 0;
  /// write: bytes sent so far and the size announced.
  std::uint64_t written = 0, size = 0;
  bool last_sent = false;
};

struct LinkState {
  LinkState() = default; // not an aggregate: CAF must not build it from `self`
  AgentLinkConfig config;
  std::uint64_t generation = 0;
  std::optional<std::uint64_t> token; ///< the current stream's, once known
  bool open = false;
  std::optional<AgentHello> hello;
  agent::Decoder decoder;
  std::chrono::milliseconds backoff{100};
  std::vector<std::pair<std::uint64_t, caf::typed_response_promise<AgentHello>>> waiters;
  std::uint64_t next_wait = 1;
  std::map<std::uint32_t, Session> sessions;
  std::map<std::uint32_t, caf::typed_response_promise<Ack>> identities;
  std::uint32_t next_channel = 1;
  /// The last time the guest broke the protocol: a guest that keeps doing
  /// it is reconnected to at the slowest pace and logged once per period.
  std::optional<Clock::time_point> last_violation;
  Clock::time_point spawned = Clock::now();
  /// Per stream: pings sent and not answered, hellos, and bytes the guest
  /// sent for channels that are not open here (a session that ended first
  /// may still have its window in flight; more than that is a flood).
  std::uint32_t pings_out = 0;
  std::uint32_t hellos = 0;
  std::uint64_t stray_bytes = 0;
  bool ever_hello = false;
  std::uint64_t violations_unlogged = 0;
  static inline const char* name = "agent_link";
};

using link_impl = agent_link_actor::extend<
  caf::reacts_to<DuplexOpened>, caf::reacts_to<DuplexData>, caf::reacts_to<DuplexClosed>,
  caf::reacts_to<reconnect_atom, std::uint64_t>,
  caf::reacts_to<poll_end_atom, std::uint32_t, std::uint64_t>,
  caf::reacts_to<wait_end_atom, std::uint64_t>, caf::reacts_to<sweep_atom>,
  caf::reacts_to<hello_due_atom, std::uint64_t>>;
using Self = sheltered_pointer<link_impl, LinkState>;

/// Guest text kept in a record or a log field: printable ASCII, bounded.
std::string clean(std::string_view guest, std::size_t max = 64) {
  std::string out;
  for (char c : guest.substr(0, max))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

caf::error fail(Errc code, std::string message, const std::string& op_id) {
  return make_error(code, std::move(message), op_id);
}

caf::error fail(const Error& e, const std::string& op_id) {
  return make_error(e.code, e.message, op_id);
}

void send_bytes(Self self, std::string bytes, std::function<void(Status)> then = nullptr) {
  auto& st = self->state;
  if (!st.open || !st.token) {
    if (then)
      then(Error{Errc::agent_unavailable, "the guest agent is not connected"});
    return;
  }
  self->request(st.config.io, caf::infinite, DuplexWrite{*st.token, std::move(bytes)})
    .then(
      [then](Ack&) {
        if (then)
          then(Status{});
      },
      [then](caf::error& e) {
        if (then)
          then(Error{Errc::agent_unavailable, "writing to the guest agent failed: "
                                                + view(e).message});
      });
}

void send_frame(Self self, const agent::Frame& frame, std::function<void(Status)> then = nullptr) {
  send_bytes(self, agent::encode(frame), std::move(then));
}

/// `data` as frames of `type` on `channel`, at most max_payload each.
std::string data_frames(agent::Type type, std::uint32_t channel, std::string_view data) {
  std::string out;
  for (std::size_t at = 0; at < data.size(); at += agent::max_payload)
    out += agent::encode(
      agent::Frame{type, channel, std::string(data.substr(at, agent::max_payload))});
  return out;
}

void connect(Self self);

/// The stream is gone: every session ends with `why`; a reconnect follows.
void lose_stream(Self self, const Error& why) {
  auto& st = self->state;
  if (st.open && st.hello)
    log_.info("agent stream closed", {{"vm_id", st.config.vm_id}, {"error", why.message}});
  if (st.token)
    self->send(st.config.io, DuplexClose{*st.token});
  st.token.reset();
  st.open = false;
  st.hello.reset();
  st.decoder = agent::Decoder{};
  st.pings_out = st.hellos = 0;
  st.stray_bytes = 0;
  Error lost{Errc::agent_unavailable, "the guest agent's connection closed: " + why.message};
  for (auto& [channel, s] : st.sessions) {
    if (s.starting)
      s.starting->deliver(fail(lost, s.op_id));
    if (s.poll)
      s.poll->deliver(fail(lost, s.op_id));
    if (s.committing)
      s.committing->deliver(fail(lost, s.op_id));
  }
  st.sessions.clear();
  for (auto& [channel, promise] : st.identities)
    promise.deliver(fail(lost, ""));
  st.identities.clear();
  ++st.generation; // late events of the old stream are ignored
  self->delayed_send(self, st.backoff, reconnect_atom::value, st.generation);
  // An image without an agent never answers: after a minute without any
  // hello the link tries every 5 s instead of every second.
  auto cap = st.ever_hello || Clock::now() - st.spawned < std::chrono::minutes(1)
               ? std::chrono::milliseconds(1000)
               : std::chrono::milliseconds(5000);
  st.backoff = std::min<std::chrono::milliseconds>(st.backoff * 2, cap);
}

void connect(Self self) {
  auto& st = self->state;
  auto gen = ++st.generation;
  DuplexOpen open{st.config.endpoint.socket, st.config.endpoint.handshake,
                  st.config.endpoint.reply_prefix, 5000, caf::actor_cast<caf::actor>(self), gen};
  self->request(st.config.io, caf::infinite, std::move(open))
    .then(
      [self, gen](std::uint64_t token) {
        auto& st = self->state;
        if (gen == st.generation)
          st.token = token;
        else
          self->send(st.config.io, DuplexClose{token});
      },
      [self, gen](caf::error& e) {
        if (gen == self->state.generation) {
          auto v = view(e);
          lose_stream(self, Error{v.code, v.message});
        }
      });
}

/// What a parked or new poll gets now: buffered output up to
/// max_session_chunk (granting the agent that much window again), and the
/// end once everything was taken.
VmSessionIo take(Self self, std::uint32_t channel, Session& s) {
  VmSessionIo io;
  auto room = max_session_chunk;
  auto n = std::min(room, s.out.size());
  io.out = s.out.substr(0, n);
  s.out.erase(0, n);
  room -= n;
  auto m = std::min(room, s.err.size());
  io.err = s.err.substr(0, m);
  s.err.erase(0, m);
  auto taken = static_cast<std::uint32_t>(n + m);
  if (taken > 0 && !s.ended) {
    s.granted += taken;
    send_frame(self, agent::frame(agent::Type::window, channel, agent::Window{taken}));
  }
  if (s.ended && s.out.empty() && s.err.empty()) {
    io.ended = true;
    io.exit_code = s.exit_code;
    io.exit_signal = s.exit_signal;
  }
  return io;
}

bool has_news(const Session& s) {
  return !s.out.empty() || !s.err.empty() || s.ended || s.failure;
}

/// Answers the session's parked poll if there is something to say.
void wake(Self self, std::uint32_t channel) {
  auto& st = self->state;
  auto it = st.sessions.find(channel);
  if (it == st.sessions.end())
    return;
  auto& s = it->second;
  if (!s.poll || !has_news(s))
    return;
  auto promise = std::move(*s.poll);
  s.poll.reset();
  if (s.failure) {
    promise.deliver(fail(*s.failure, s.op_id));
    st.sessions.erase(it);
    return;
  }
  auto io = take(self, channel, s);
  if (io.ended)
    st.sessions.erase(it);
  promise.deliver(std::move(io));
}

/// Within this of a protocol violation the guest is not trusted again: its
/// hello does not reset the reconnect pace and further violations are only
/// counted, so a hostile guest costs one log line and one connection a second.
constexpr auto violation_memory = std::chrono::seconds(10);

void protocol_violation(Self self, const std::string& what) {
  auto& st = self->state;
  auto now = Clock::now();
  if (!st.last_violation || now - *st.last_violation > violation_memory) {
    log_.warn("the guest agent broke the protocol; closing its stream",
              {{"vm_id", st.config.vm_id}, {"error", what},
               {"more_since_last", static_cast<std::int64_t>(st.violations_unlogged)}});
    st.violations_unlogged = 0;
  } else {
    ++st.violations_unlogged;
  }
  st.last_violation = now;
  st.backoff = std::chrono::seconds(1);
  lose_stream(self, Error{Errc::agent_unavailable, "the guest agent broke the protocol: " + what});
}

Error agent_error(std::string_view payload, const std::string& what) {
  auto e = agent::decode_error(payload);
  if (!e)
    return Error{Errc::agent_unavailable, what + ": the guest agent sent a malformed error"};
  return Error{agent_errc(e->code), what + ": " + clean(e->message, 512)};
}

/// One frame from the guest. False: the stream was closed because of it.
/// Drops a frame nobody here asked for; up to two windows' worth per stream
/// (a session's output in flight when it ended), beyond that the guest is
/// flooding. False: the stream was closed.
bool drop_stray(Self self, const agent::Frame& f) {
  auto& st = self->state;
  st.stray_bytes += agent::header_size + f.payload.size();
  if (st.stray_bytes <= 2 * agent::initial_window)
    return true;
  protocol_violation(self, "frames for channels that are not open");
  return false;
}

/// Types only a host sends: from a guest, on any channel, they end the
/// stream.
bool host_only(agent::Type t) {
  using agent::Type;
  switch (t) {
  case Type::ping:
  case Type::exec:
  case Type::stdin_data:
  case Type::stdin_eof:
  case Type::signal:
  case Type::resize:
  case Type::window:
  case Type::file_put:
  case Type::file_get:
  case Type::identity:
    return true;
  default:
    return false;
  }
}

bool on_frame(Self self, agent::Frame& f) {
  auto& st = self->state;
  using agent::Type;
  if (host_only(f.type)) {
    protocol_violation(self, "a guest never sends " + std::string(agent::to_string(f.type)));
    return false;
  }
  if (f.channel == 0) {
    switch (f.type) {
    case Type::hello: {
      if (++st.hellos > 16) {
        protocol_violation(self, "hello after hello");
        return false;
      }
      auto hello = agent::decode_hello(f.payload);
      if (!hello) {
        protocol_violation(self, "malformed hello");
        return false;
      }
      if (hello->version != agent::protocol_version) {
        protocol_violation(self, "it speaks protocol " + std::to_string(hello->version)
                                   + ", this bangerd " + std::to_string(agent::protocol_version));
        return false;
      }
      bool first = !st.hello;
      st.ever_hello = true;
      st.hello = AgentHello{clean(hello->agent_version), clean(hello->boot_id)};
      if (!st.last_violation || Clock::now() - *st.last_violation > violation_memory)
        st.backoff = std::chrono::milliseconds(100);
      if (first) {
        log_.info("agent said hello", {{"vm_id", st.config.vm_id}, {"version", st.hello->version}});
        self->send(st.config.owner, AgentUp{st.hello->version});
      }
      for (auto& [id, promise] : st.waiters)
        promise.deliver(*st.hello);
      st.waiters.clear();
      return true;
    }
    case Type::pong:
      if (!st.hello) {
        // Before this stream's hello: an answer to the previous host that
        // waited in the guest's port (a restored VM's). Dropped, and
        // bounded like other frames nobody asked for.
        return drop_stray(self, f);
      }
      if (st.pings_out == 0) {
        protocol_violation(self, "a pong for no ping");
        return false;
      }
      --st.pings_out;
      return true;
    default:
      protocol_violation(self, "unexpected " + std::string(agent::to_string(f.type))
                                 + " on the link channel");
      return false;
    }
  }
  if (auto id = st.identities.find(f.channel); id != st.identities.end()) {
    if (f.type == Type::ok)
      id->second.deliver(Ack{});
    else if (f.type == Type::error)
      id->second.deliver(fail(agent_error(f.payload, "setting the guest's identity failed"), ""));
    else {
      protocol_violation(self, "unexpected " + std::string(agent::to_string(f.type))
                                 + " for an identity request");
      return false;
    }
    st.identities.erase(id);
    return true;
  }
  auto it = st.sessions.find(f.channel);
  if (it == st.sessions.end()) {
    // A session that ended here first (closed, timed out): what it had in
    // flight is dropped.
    return drop_stray(self, f);
  }
  auto& s = it->second;
  auto channel = f.channel;
  auto output = [&](std::string& into) {
    s.received += f.payload.size();
    if (s.received > agent::initial_window + s.granted) {
      protocol_violation(self, "channel " + std::to_string(channel)
                                 + " sent more output than its window");
      return false;
    }
    into += f.payload;
    wake(self, channel);
    return true;
  };
  switch (f.type) {
  case Type::started: {
    auto started = agent::decode_started(f.payload);
    if (!started || s.kind != Session::Kind::exec || !s.starting) {
      protocol_violation(self, "unexpected started");
      return false;
    }
    s.starting->deliver(VmSessionStarted{st.config.vm_id, channel, started->pid, 0, 0});
    s.starting.reset();
    log_.info("command started in the guest",
              {{"vm_id", st.config.vm_id}, {"op_id", s.op_id}, {"session", channel},
               {"pid", static_cast<std::int64_t>(started->pid)}});
    return true;
  }
  case Type::file_info: {
    auto info = agent::decode_file_info(f.payload);
    if (!info || s.kind != Session::Kind::read || !s.starting) {
      protocol_violation(self, "unexpected file_info");
      return false;
    }
    s.size = info->size;
    s.starting->deliver(VmSessionStarted{st.config.vm_id, channel, 0, info->size, info->mode});
    s.starting.reset();
    return true;
  }
  case Type::stdout_data:
  case Type::stderr_data:
    if (s.kind != Session::Kind::exec || s.starting || s.ended) {
      protocol_violation(self, "output outside a running command");
      return false;
    }
    return output(f.type == Type::stdout_data ? s.out : s.err);
  case Type::file_data:
    if (s.kind != Session::Kind::read || s.starting || s.ended) {
      protocol_violation(self, "file data outside a read");
      return false;
    }
    return output(s.out);
  case Type::exited: {
    auto exited = agent::decode_exited(f.payload);
    if (!exited || s.kind != Session::Kind::exec || s.starting || s.ended) {
      protocol_violation(self, "unexpected exited");
      return false;
    }
    s.ended = true;
    s.exit_code = exited->code;
    s.exit_signal = exited->signal;
    log_.info("command ended in the guest",
              {{"vm_id", st.config.vm_id}, {"op_id", s.op_id}, {"session", channel},
               {"exit_code", static_cast<std::int64_t>(exited->code)},
               {"signal", static_cast<std::int64_t>(exited->signal)}});
    wake(self, channel);
    return true;
  }
  case Type::file_end:
    if (s.kind != Session::Kind::read || s.starting || s.ended) {
      protocol_violation(self, "unexpected file_end");
      return false;
    }
    if (s.received != s.size) {
      s.failure = Error{Errc::conflict, "the file changed while it was read ("
                                          + std::to_string(s.received) + " bytes of "
                                          + std::to_string(s.size) + ")"};
    }
    s.ended = true;
    wake(self, channel);
    return true;
  case Type::ok:
    if (s.kind != Session::Kind::write || !s.last_sent) {
      protocol_violation(self, "unexpected ok");
      return false;
    }
    if (s.committing)
      s.committing->deliver(VmFileWritten{st.config.vm_id, channel, s.written, true});
    st.sessions.erase(it);
    return true;
  case Type::error: {
    auto what = s.kind == Session::Kind::exec    ? std::string("the command failed to start")
                : s.kind == Session::Kind::read ? std::string("reading the guest file failed")
                                                : std::string("writing the guest file failed");
    auto e = agent_error(f.payload, what);
    if (s.starting) {
      s.starting->deliver(fail(e, s.op_id));
      st.sessions.erase(it);
    } else if (s.committing) {
      s.committing->deliver(fail(e, s.op_id));
      st.sessions.erase(it);
    } else {
      s.failure = e;
      s.ended = true;
      wake(self, channel);
    }
    return true;
  }
  default:
    protocol_violation(self, "a guest never sends " + std::string(agent::to_string(f.type)));
    return false;
  }
}

/// A new channel number, or 0 when the VM has max_agent_sessions.
std::uint32_t new_channel(Self self) {
  auto& st = self->state;
  if (st.sessions.size() + st.identities.size() >= max_agent_sessions)
    return 0;
  for (;;) {
    auto c = st.next_channel++;
    if (st.next_channel == 0)
      st.next_channel = 1;
    if (c != 0 && !st.sessions.count(c) && !st.identities.count(c))
      return c;
  }
}

std::optional<caf::error> not_ready(Self self, const std::string& op_id) {
  auto& st = self->state;
  if (!st.open || !st.hello)
    return fail(Errc::agent_unavailable,
                "the guest agent of VM " + st.config.vm_id
                  + " is not connected (the guest is booting, has no agent, or is hung)",
                op_id);
  return std::nullopt;
}

std::optional<std::string> check_guest_path(const std::string& path) {
  if (path.empty() || path.front() != '/')
    return "the guest path must be absolute: " + excerpt(path);
  if (path.size() > agent::max_path)
    return "the guest path is longer than " + std::to_string(agent::max_path) + " bytes";
  if (path.find('\0') != std::string::npos)
    return "the guest path holds a NUL byte";
  return std::nullopt;
}

std::optional<std::string> check_exec(const VmExecRequest& r) {
  if (r.argv.empty())
    return std::string("no command given");
  if (r.argv.size() > agent::max_args)
    return "more than " + std::to_string(agent::max_args) + " arguments";
  if (r.environment.size() > agent::max_args)
    return "more than " + std::to_string(agent::max_args) + " environment variables";
  std::size_t total = 0;
  for (auto& a : r.argv) {
    if (a.find('\0') != std::string::npos)
      return std::string("an argument holds a NUL byte");
    total += a.size() + 4;
  }
  if (r.argv.front().empty())
    return std::string("the command name is empty");
  for (auto& e : r.environment) {
    auto eq = e.find('=');
    if (eq == std::string::npos || eq == 0)
      return "environment entry " + excerpt(e) + " is not NAME=value";
    for (std::size_t i = 0; i < eq; ++i) {
      char c = e[i];
      bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                || (i > 0 && c >= '0' && c <= '9');
      if (!ok)
        return "environment name " + excerpt(e.substr(0, eq)) + " is not [A-Za-z_][A-Za-z0-9_]*";
    }
    if (e.find('\0') != std::string::npos)
      return std::string("an environment entry holds a NUL byte");
    total += e.size() + 4;
  }
  if (!r.cwd.empty())
    if (auto bad = check_guest_path(r.cwd))
      return "cwd: " + *bad;
  if (r.rows > 10000 || r.cols > 10000)
    return std::string("terminal size out of range");
  if (total + r.cwd.size() + 256 > agent::max_payload)
    return "the command line is longer than " + std::to_string(agent::max_payload) + " bytes";
  return std::nullopt;
}

/// The parked poll of `channel` ends with what there is (often nothing).
void end_poll(Self self, std::uint32_t channel, std::uint64_t seq) {
  auto& st = self->state;
  auto it = st.sessions.find(channel);
  if (it == st.sessions.end() || !it->second.poll || it->second.poll_seq != seq)
    return;
  auto promise = std::move(*it->second.poll);
  it->second.poll.reset();
  promise.deliver(VmSessionIo{});
}

caf::result<VmSessionIo> session_io(Self self, VmSessionIoRequest& r) {
  auto& st = self->state;
  auto it = st.sessions.find(r.session);
  if (it == st.sessions.end() || it->second.kind == Session::Kind::write)
    return fail(Errc::not_found,
                "no session " + std::to_string(r.session) + " on VM " + st.config.vm_id
                  + " (it ended, or the guest agent reconnected)",
                r.env.op_id);
  auto& s = it->second;
  s.touched = Clock::now();
  auto channel = r.session;
  if (r.close) {
    if (s.kind == Session::Kind::exec && !s.ended)
      send_frame(self, agent::frame(agent::Type::signal, channel, agent::Signal{9}));
    if (s.poll)
      s.poll->deliver(VmSessionIo{});
    st.sessions.erase(it);
    VmSessionIo io;
    io.ended = true;
    return io;
  }
  if (s.kind != Session::Kind::exec
      && (!r.input.empty() || r.input_eof || r.signal != 0 || r.rows != 0 || r.cols != 0))
    return fail(Errc::invalid_argument, "a file read takes no input", r.env.op_id);
  if (r.input.size() > max_session_chunk)
    return fail(Errc::invalid_argument,
                "input chunk larger than " + std::to_string(max_session_chunk) + " bytes",
                r.env.op_id);
  if (r.signal > 64)
    return fail(Errc::invalid_argument, "signal " + std::to_string(r.signal) + " out of range",
                r.env.op_id);
  if (r.rows > 10000 || r.cols > 10000)
    return fail(Errc::invalid_argument, "terminal size out of range", r.env.op_id);
  std::string bytes;
  if (!s.ended) {
    bytes += data_frames(agent::Type::stdin_data, channel, r.input);
    if (r.input_eof)
      bytes += agent::encode(agent::Frame{agent::Type::stdin_eof, channel, {}});
    if (r.signal != 0)
      bytes += agent::encode(agent::frame(agent::Type::signal, channel, agent::Signal{r.signal}));
    if (r.rows != 0 && r.cols != 0)
      bytes += agent::encode(agent::frame(agent::Type::resize, channel,
                                          agent::Resize{r.rows, r.cols}));
  }
  auto promise = self->make_response_promise<VmSessionIo>();
  auto wait_ms = std::min(r.wait_ms, session_max_wait_ms);
  auto then = [self, channel, promise, wait_ms, op_id = r.env.op_id](Status sent) mutable {
    auto& st = self->state;
    auto it = st.sessions.find(channel);
    if (it == st.sessions.end()) {
      promise.deliver(fail(Errc::not_found, "session " + std::to_string(channel) + " ended",
                           op_id));
      return;
    }
    auto& s = it->second;
    if (!sent) {
      promise.deliver(fail(sent.error(), op_id));
      return;
    }
    if (s.failure) {
      promise.deliver(fail(*s.failure, op_id));
      st.sessions.erase(it);
      return;
    }
    if (has_news(s) || wait_ms == 0) {
      auto io = take(self, channel, s);
      if (io.ended)
        st.sessions.erase(it);
      promise.deliver(std::move(io));
      return;
    }
    if (s.poll) // one parked poll per session: the older one ends empty
      s.poll->deliver(VmSessionIo{});
    s.poll = promise;
    auto seq = ++s.poll_seq;
    self->delayed_send(self, std::chrono::milliseconds(wait_ms), poll_end_atom::value, channel,
                       seq);
  };
  if (bytes.empty())
    then(Status{});
  else
    send_bytes(self, std::move(bytes), std::move(then));
  return promise;
}

caf::result<VmSessionStarted> exec(Self self, VmExecRequest& r) {
  if (auto bad = not_ready(self, r.env.op_id))
    return *bad;
  if (auto bad = check_exec(r))
    return fail(Errc::invalid_argument, "vm exec: " + *bad, r.env.op_id);
  auto channel = new_channel(self);
  if (channel == 0)
    return fail(Errc::busy, "VM " + self->state.config.vm_id + " has "
                              + std::to_string(max_agent_sessions) + " sessions already",
                r.env.op_id);
  agent::Exec e;
  e.op_id = r.env.op_id;
  e.flags = r.tty ? agent::exec_tty : 0;
  e.rows = r.rows;
  e.cols = r.cols;
  e.argv = r.argv;
  e.env = r.environment;
  e.cwd = r.cwd;
  Session s;
  s.kind = Session::Kind::exec;
  s.op_id = r.env.op_id;
  auto promise = self->make_response_promise<VmSessionStarted>();
  s.starting = promise;
  self->state.sessions.emplace(channel, std::move(s));
  log_.info("exec", {{"vm_id", self->state.config.vm_id}, {"op_id", r.env.op_id},
                     {"session", channel}, {"argv0", excerpt(r.argv.front())},
                     {"tty", r.tty}});
  send_frame(self, agent::frame(agent::Type::exec, channel, e));
  return promise;
}

caf::result<VmSessionStarted> read_file(Self self, VmFileReadRequest& r) {
  if (auto bad = not_ready(self, r.env.op_id))
    return *bad;
  if (auto bad = check_guest_path(r.path))
    return fail(Errc::invalid_argument, "vm cp: " + *bad, r.env.op_id);
  auto channel = new_channel(self);
  if (channel == 0)
    return fail(Errc::busy, "VM " + self->state.config.vm_id + " has too many sessions",
                r.env.op_id);
  Session s;
  s.kind = Session::Kind::read;
  s.op_id = r.env.op_id;
  auto promise = self->make_response_promise<VmSessionStarted>();
  s.starting = promise;
  self->state.sessions.emplace(channel, std::move(s));
  send_frame(self, agent::frame(agent::Type::file_get, channel, agent::FileGet{r.env.op_id, r.path}));
  return promise;
}

caf::result<VmFileWritten> write_file(Self self, VmFileWriteRequest& r) {
  auto& st = self->state;
  if (auto bad = not_ready(self, r.env.op_id))
    return *bad;
  if (r.data.size() > max_session_chunk)
    return fail(Errc::invalid_argument,
                "a chunk is larger than " + std::to_string(max_session_chunk) + " bytes",
                r.env.op_id);
  std::uint32_t channel = r.session;
  std::string bytes;
  if (channel == 0) {
    if (auto bad = check_guest_path(r.path))
      return fail(Errc::invalid_argument, "vm cp: " + *bad, r.env.op_id);
    if (r.mode > 07777)
      return fail(Errc::invalid_argument, "mode " + std::to_string(r.mode) + " is not a file mode",
                  r.env.op_id);
    if (r.data.size() > r.size)
      return fail(Errc::invalid_argument, "more data than the announced size", r.env.op_id);
    channel = new_channel(self);
    if (channel == 0)
      return fail(Errc::busy, "VM " + st.config.vm_id + " has too many sessions", r.env.op_id);
    Session s;
    s.kind = Session::Kind::write;
    s.op_id = r.env.op_id;
    s.size = r.size;
    st.sessions.emplace(channel, std::move(s));
    bytes += agent::encode(agent::frame(agent::Type::file_put, channel,
                                        agent::FilePut{r.env.op_id, r.path, r.mode, r.size}));
  }
  auto it = st.sessions.find(channel);
  if (it == st.sessions.end() || it->second.kind != Session::Kind::write)
    return fail(Errc::not_found, "no file transfer " + std::to_string(channel) + " on VM "
                                   + st.config.vm_id,
                r.env.op_id);
  auto& s = it->second;
  s.touched = Clock::now();
  if (s.failure) {
    auto e = *s.failure;
    st.sessions.erase(it);
    return fail(e, r.env.op_id);
  }
  if (s.last_sent)
    return fail(Errc::conflict, "the transfer is already complete", r.env.op_id);
  if (s.written + r.data.size() > s.size)
    return fail(Errc::invalid_argument, "more data than the announced size", r.env.op_id);
  bytes += data_frames(agent::Type::file_data, channel, r.data);
  if (r.last) {
    bytes += agent::encode(agent::Frame{agent::Type::file_end, channel, {}});
    s.last_sent = true;
  }
  auto promise = self->make_response_promise<VmFileWritten>();
  auto n = r.data.size();
  bool last = r.last;
  send_bytes(self, std::move(bytes),
             [self, channel, promise, n, last, op_id = r.env.op_id](Status sent) mutable {
               auto& st = self->state;
               auto it = st.sessions.find(channel);
               if (it == st.sessions.end()) {
                 promise.deliver(fail(Errc::agent_unavailable, "the transfer ended", op_id));
                 return;
               }
               auto& s = it->second;
               if (!sent) {
                 promise.deliver(fail(sent.error(), op_id));
                 st.sessions.erase(it);
                 return;
               }
               s.written += n;
               if (s.failure) {
                 promise.deliver(fail(*s.failure, op_id));
                 st.sessions.erase(it);
                 return;
               }
               if (last) {
                 s.committing = promise; // the agent's ok or error answers it
                 return;
               }
               promise.deliver(VmFileWritten{st.config.vm_id, channel, s.written, false});
             });
  return promise;
}

/// Sessions nobody polls any more, and opening requests the agent never
/// answered.
void sweep(Self self) {
  auto& st = self->state;
  auto now = Clock::now();
  for (auto it = st.sessions.begin(); it != st.sessions.end();) {
    auto& s = it->second;
    auto channel = it->first;
    if ((s.starting || s.committing) && now - s.opened > agent_answer_timeout) {
      Error late{Errc::agent_unavailable, "the guest agent did not answer in "
                                            + std::to_string(agent_answer_timeout.count()) + " s"};
      if (s.starting)
        s.starting->deliver(fail(late, s.op_id));
      if (s.committing)
        s.committing->deliver(fail(late, s.op_id));
      it = st.sessions.erase(it);
      continue;
    }
    if (!s.poll && !s.starting && !s.committing && now - s.touched > session_idle_timeout) {
      log_.info("session abandoned; ended",
                {{"vm_id", st.config.vm_id}, {"op_id", s.op_id}, {"session", channel}});
      if (s.kind == Session::Kind::exec && !s.ended)
        send_frame(self, agent::frame(agent::Type::signal, channel, agent::Signal{9}));
      it = st.sessions.erase(it);
      continue;
    }
    ++it;
  }
  self->delayed_send(self, sweep_every, sweep_atom::value);
}

link_impl::behavior_type link_behavior(Self self, AgentLinkConfig config) {
  self->state.config = std::move(config);
  // The link lives for its VM actor's VMM; should the VM actor itself end
  // first, so does the link.
  self->monitor(self->state.config.owner);
  self->set_down_handler([self](caf::down_msg&) {
    lose_stream(self, Error{Errc::agent_unavailable, "the VM actor ended"});
    self->quit();
  });
  connect(self);
  self->delayed_send(self, sweep_every, sweep_atom::value);
  return {
    [self](DuplexOpened& e) {
      auto& st = self->state;
      if (e.link != st.generation)
        return;
      st.open = true;
      // A ping makes an agent that kept its end open across a restore of
      // the VM say hello again (docs/agent.md).
      ++st.pings_out;
      send_frame(self, agent::frame(agent::Type::ping, 0, agent::Ping{"link"}));
      self->delayed_send(self, hello_due, hello_due_atom::value, st.generation);
    },
    [self](hello_due_atom, std::uint64_t gen) {
      auto& st = self->state;
      if (gen != st.generation || !st.open || st.hello)
        return;
      lose_stream(self, Error{Errc::agent_unavailable, "no hello on the stream"});
    },
    [self](DuplexData& e) {
      auto& st = self->state;
      if (e.link != st.generation)
        return;
      if (!st.decoder.feed(e.bytes)) {
        protocol_violation(self, st.decoder.error());
        return;
      }
      while (auto frame = st.decoder.next()) {
        auto gen = st.generation;
        if (!on_frame(self, *frame) || gen != st.generation)
          return;
      }
      if (st.decoder.failed())
        protocol_violation(self, st.decoder.error());
    },
    [self](DuplexClosed& e) {
      auto& st = self->state;
      if (e.link != st.generation)
        return;
      st.token.reset(); // the reactor dropped it already
      lose_stream(self, Error{static_cast<Errc>(e.code), e.error});
    },
    [self](reconnect_atom, std::uint64_t gen) {
      if (gen == self->state.generation)
        connect(self);
    },
    [self](poll_end_atom, std::uint32_t channel, std::uint64_t seq) { end_poll(self, channel, seq); },
    [self](wait_end_atom, std::uint64_t id) {
      auto& waiters = self->state.waiters;
      for (auto it = waiters.begin(); it != waiters.end(); ++it)
        if (it->first == id) {
          it->second.deliver(fail(Errc::agent_unavailable,
                                  "the guest agent did not say hello in time", ""));
          waiters.erase(it);
          return;
        }
    },
    [self](sweep_atom) { sweep(self); },
    [self](AgentClose& c) {
      // The VMM is gone: every waiting request learns it now, not never.
      auto& st = self->state;
      Error gone{Errc::agent_unavailable, c.why};
      for (auto& [id, promise] : st.waiters)
        promise.deliver(fail(gone, ""));
      st.waiters.clear();
      lose_stream(self, gone);
      self->quit();
    },
    [self](AgentWait& w) -> caf::result<AgentHello> {
      auto& st = self->state;
      if (st.hello && st.open)
        return *st.hello;
      // Open without a hello: the ping sent at connect may have reached a
      // guest that was still being restored (QEMU drops what arrives on a
      // port before its device state is loaded). Whoever waits does so
      // once the guest runs, so a ping now is answered at once.
      if (st.open) {
        ++st.pings_out;
        send_frame(self, agent::frame(agent::Type::ping, 0, agent::Ping{w.op_id}));
      }
      auto promise = self->make_response_promise<AgentHello>();
      auto id = st.next_wait++;
      st.waiters.emplace_back(id, promise);
      self->delayed_send(self, std::chrono::milliseconds(std::max<std::int64_t>(w.timeout_ms, 1)),
                         wait_end_atom::value, id);
      return promise;
    },
    [self](AgentIdentity& w) -> caf::result<Ack> {
      if (auto bad = not_ready(self, w.op_id))
        return *bad;
      auto channel = new_channel(self);
      if (channel == 0)
        return fail(Errc::busy, "too many sessions", w.op_id);
      agent::Identity id;
      id.op_id = w.op_id;
      id.hostname = w.hostname;
      id.mac = w.mac;
      id.device = "eth0";
      id.address = w.address;
      id.gateway = w.gateway;
      id.dns = w.dns;
      id.flags = (w.new_machine_id ? agent::identity_new_machine_id : 0)
                 | (w.new_host_keys ? agent::identity_new_host_keys : 0);
      id.seed = w.seed.substr(0, agent::max_seed);
      auto promise = self->make_response_promise<Ack>();
      self->state.identities.emplace(channel, promise);
      send_frame(self, agent::frame(agent::Type::identity, channel, id));
      return promise;
    },
    [self](VmExecRequest& r) { return exec(self, r); },
    [self](VmSessionIoRequest& r) { return session_io(self, r); },
    [self](VmFileReadRequest& r) { return read_file(self, r); },
    [self](VmFileWriteRequest& r) { return write_file(self, r); },
  };
}

} // namespace

Errc agent_errc(std::uint32_t guest_errno) {
  switch (guest_errno) {
  case ENOENT:
  case ENOTDIR:
    return Errc::not_found;
  case EEXIST:
    return Errc::already_exists;
  case EAGAIN:
  case EBUSY:
  case EMFILE:
  case ENFILE:
    return Errc::busy;
  case EINVAL:
  case ENAMETOOLONG:
  case E2BIG:
    return Errc::invalid_argument;
  default:
    return Errc::conflict;
  }
}

agent_link_actor spawn_agent_link(caf::actor_system& sys, AgentLinkConfig config) {
  return caf::actor_cast<agent_link_actor>(
    sys.spawn(link_behavior, std::move(config)));
}

} // namespace banger
