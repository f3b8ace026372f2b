#include "tools/guest-agent/link.hpp"

#include "tools/guest-agent/exec_session.hpp"
#include "tools/guest-agent/file_session.hpp"
#include "tools/guest-agent/identity.hpp"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace banger::guest {

namespace {

/// Reading the host stops while this much waits unsent: a host that sends
/// pings and never reads gets back-pressure, not an agent that grows.
constexpr std::size_t max_unsent_before_reading = 4 * Link::max_unsent;

/// Channels remembered as closed; older ones are forgotten.
constexpr std::size_t closed_memory = 256;

/// Frames only an agent sends; a host sending one is broken.
bool agent_only(agent::Type t) {
  using agent::Type;
  switch (t) {
  case Type::hello:
  case Type::pong:
  case Type::started:
  case Type::stdout_data:
  case Type::stderr_data:
  case Type::exited:
  case Type::file_info:
  case Type::ok:
  case Type::error:
    return true;
  default:
    return false;
  }
}

bool opens_channel(agent::Type t) {
  using agent::Type;
  return t == Type::exec || t == Type::file_put || t == Type::file_get || t == Type::identity;
}

std::string malformed(agent::Type t) { return "malformed " + std::string(agent::to_string(t)); }

} // namespace

Link::Link(Fd fd, const AgentInfo& info, Children& children, int listener)
    : fd_(std::move(fd)), info_(info), children_(children), listener_(listener) {
  set_nonblocking(fd_.get());
}

void Link::send(const agent::Frame& frame) {
  if (out_start_ > 0 && out_start_ == out_.size()) {
    out_.clear();
    out_start_ = 0;
  }
  out_ += agent::encode(frame);
}

void Link::say_hello() {
  send(agent::Type::hello, 0, agent::Hello{agent::protocol_version, info_.version, info_.boot_id});
}

void Link::misbehave(std::string why) {
  end_ = LinkEnd::misbehaved;
  why_ = std::move(why);
}

LinkEnd Link::run() {
  say_hello();
  while (!end_) {
    PollSet polls;
    short link_events = 0;
    if (unsent() < max_unsent_before_reading)
      link_events |= POLLIN;
    if (unsent() > 0)
      link_events |= POLLOUT;
    auto link_index = polls.add(fd_.get(), link_events);
    auto children_index = polls.add(children_.fd(), POLLIN);
    std::size_t listener_index = 0;
    if (listener_ >= 0)
      listener_index = polls.add(listener_, POLLIN);
    bool busy = false;
    for (auto& [channel, session] : sessions_) {
      session->fill(polls);
      busy = busy || session->ready();
    }
    if (::poll(polls.fds().data(), polls.fds().size(), busy ? 0 : -1) < 0) {
      if (errno == EINTR)
        continue;
      why_ = "poll failed";
      return LinkEnd::closed;
    }
    if (polls.revents(children_index) != 0)
      children_.reap([this](pid_t pid, int status) {
        for (auto& [channel, session] : sessions_)
          if (session->on_child_exit(pid, status))
            return;
      });
    if (listener_ >= 0 && polls.revents(listener_index) != 0) {
      why_ = "a new connection replaces it";
      return LinkEnd::replaced;
    }
    auto link = polls.revents(link_index);
    if ((link & POLLIN) && !read_host())
      break;
    // POLLHUP without data: a virtio-serial port whose host side is gone
    // reports only this.
    if ((link & (POLLHUP | POLLERR)) && !(link & POLLIN)) {
      end_ = LinkEnd::closed;
      why_ = "the host closed the link";
      break;
    }
    for (auto& [channel, session] : sessions_)
      session->handle(polls);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->done()) {
        remember_closed(it->first);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
    if (unsent() > 0 && !flush())
      break;
  }
  // What was answered before a misbehaving frame still goes out.
  if (end_ == LinkEnd::misbehaved)
    flush();
  return *end_;
}

bool Link::read_host() {
  char buffer[agent::max_payload];
  auto n = ::read(fd_.get(), buffer, sizeof buffer);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  if (n <= 0) {
    end_ = LinkEnd::closed;
    why_ = n == 0 ? "the host closed the link" : "reading the link failed";
    return false;
  }
  decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  while (!end_) {
    auto frame = decoder_.next();
    if (!frame)
      break;
    on_frame(*frame);
  }
  if (decoder_.failed() && !end_)
    misbehave(decoder_.error());
  return !end_;
}

bool Link::flush() {
  while (unsent() > 0) {
    auto n = ::write(fd_.get(), out_.data() + out_start_, unsent());
    if (n > 0) {
      out_start_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      break;
    if (!end_) {
      end_ = LinkEnd::closed;
      why_ = "writing the link failed";
    }
    return false;
  }
  // Sent bytes are dropped once they are a good part of the buffer, so a
  // long transfer does not keep everything it ever sent.
  if (out_start_ == out_.size()) {
    out_.clear();
    out_start_ = 0;
  } else if (out_start_ > max_unsent) {
    out_.erase(0, out_start_);
    out_start_ = 0;
  }
  return true;
}

void Link::on_frame(const agent::Frame& frame) {
  using agent::Type;
  if (agent_only(frame.type)) {
    misbehave("the host sent " + std::string(agent::to_string(frame.type)));
    return;
  }
  if (frame.channel == 0) {
    if (frame.type != Type::ping) {
      misbehave("the host sent " + std::string(agent::to_string(frame.type)) +
                " on the link channel");
      return;
    }
    auto ping = agent::decode_ping(frame.payload);
    if (!ping) {
      misbehave(malformed(frame.type));
      return;
    }
    // On virtio-serial the agent cannot tell that the host reconnected (a
    // VM restored from a snapshot, a restarted daemon): the host pings when
    // it connects, so every pong comes after a fresh hello. What belonged
    // to the previous host goes: its sessions (their commands killed), the
    // output it did not read, the channels it used (docs/agent.md).
    sessions_.clear();
    closed_.clear();
    out_.clear();
    out_start_ = 0;
    say_hello();
    send(Type::pong, 0, *ping);
    return;
  }
  if (opens_channel(frame.type)) {
    open_session(frame);
    return;
  }
  auto it = sessions_.find(frame.channel);
  if (it != sessions_.end()) {
    it->second->on_frame(frame);
    // Over now (an error, an upload committed): the frames after it in
    // this read are for a closed channel.
    if (it->second->done()) {
      remember_closed(it->first);
      sessions_.erase(it);
    }
    return;
  }
  if (recently_closed(frame.channel))
    return;
  send_error(frame.channel, Failure{EBADF, "no session on channel " + std::to_string(frame.channel)});
  remember_closed(frame.channel);
}

void Link::open_session(const agent::Frame& frame) {
  using agent::Type;
  auto channel = frame.channel;
  if (sessions_.count(channel) != 0) {
    send_error(channel, Failure{EBUSY, "channel " + std::to_string(channel) + " is in use"});
    return;
  }
  if (sessions_.size() >= max_sessions) {
    send_error(channel, Failure{EAGAIN, "the guest agent has " + std::to_string(max_sessions) +
                                            " sessions already"});
    return;
  }
  closed_.erase(std::remove(closed_.begin(), closed_.end(), channel), closed_.end());
  std::unique_ptr<Session> session;
  switch (frame.type) {
  case Type::exec:
    if (auto exec = agent::decode_exec(frame.payload))
      session = ExecSession::start(channel, *exec, *this);
    else
      send_error(channel, Failure{EINVAL, malformed(frame.type)});
    break;
  case Type::file_put:
    if (auto put = agent::decode_file_put(frame.payload))
      session = FilePutSession::start(channel, *put, *this);
    else
      send_error(channel, Failure{EINVAL, malformed(frame.type)});
    break;
  case Type::file_get:
    if (auto get = agent::decode_file_get(frame.payload))
      session = FileGetSession::start(channel, *get, *this);
    else
      send_error(channel, Failure{EINVAL, malformed(frame.type)});
    break;
  case Type::identity:
    if (auto identity = agent::decode_identity(frame.payload)) {
      if (auto failure = apply_identity(*identity, IdentityRoot{info_.identity_root}))
        send_error(channel, *failure);
      else
        send(agent::Frame{Type::ok, channel, {}});
    } else {
      send_error(channel, Failure{EINVAL, malformed(frame.type)});
    }
    break;
  default:
    break;
  }
  if (session)
    sessions_.emplace(channel, std::move(session));
  else
    remember_closed(channel);
}

void Link::remember_closed(std::uint32_t channel) {
  closed_.push_back(channel);
  if (closed_.size() > closed_memory)
    closed_.pop_front();
}

bool Link::recently_closed(std::uint32_t channel) const {
  return std::find(closed_.begin(), closed_.end(), channel) != closed_.end();
}

} // namespace banger::guest
