// One connection to the host: reads frames, opens and feeds the channels'
// sessions, writes what they send, all from one poll() loop. The link ends
// when the host goes away or breaks the protocol; its sessions end with it
// (their commands are killed, unfinished uploads removed).
#pragma once

#include "tools/guest-agent/children.hpp"
#include "tools/guest-agent/session.hpp"

#include <deque>
#include <map>
#include <memory>

namespace banger::guest {

/// What the agent says in its hello.
struct AgentInfo {
  std::string version;
  std::string boot_id;
  /// Where identities are applied: "" is the guest itself; a folder (an
  /// agent that runs on a host, under fc-stub) gets files only.
  std::string identity_root;
};

enum class LinkEnd {
  closed,     ///< the host closed its end, or reading or writing failed
  misbehaved, ///< the host sent what the protocol does not allow
  replaced,   ///< a new connection is waiting on the listener
};

class Link final : public Outbox {
public:
  /// Sessions a link has at most at once.
  static constexpr std::size_t max_sessions = 64;
  /// Unsent bytes above which sessions stop producing output.
  static constexpr std::size_t max_unsent = 1024 * 1024;

  /// `listener`: a socket whose next connection replaces this one (vsock),
  /// or -1.
  Link(Fd fd, const AgentInfo& info, Children& children, int listener = -1);

  /// Says hello, then serves the host until the link ends.
  LinkEnd run();
  /// Why run() ended, for the log.
  const std::string& why() const { return why_; }

  using Outbox::send;
  void send(const agent::Frame& frame) override;
  bool has_room() const override { return unsent() < max_unsent; }

private:
  std::size_t unsent() const { return out_.size() - out_start_; }
  bool read_host();
  bool flush();
  void on_frame(const agent::Frame& frame);
  void open_session(const agent::Frame& frame);
  void remember_closed(std::uint32_t channel);
  bool recently_closed(std::uint32_t channel) const;
  void misbehave(std::string why);
  void say_hello();

  Fd fd_;
  AgentInfo info_;
  Children& children_;
  int listener_;
  agent::Decoder decoder_;
  std::string out_;
  std::size_t out_start_ = 0;
  std::map<std::uint32_t, std::unique_ptr<Session>> sessions_;
  /// Channels that ended here while the host may still be sending on them
  /// (input after a command exited, data after a refused upload): their
  /// frames are dropped instead of answered with an error each.
  std::deque<std::uint32_t> closed_;
  std::optional<LinkEnd> end_;
  std::string why_;
};

} // namespace banger::guest
