// A command the host runs in the guest (exec): a child process in its own
// session and process group, its stdin, stdout and stderr on pipes or, with
// exec_tty, all three on a pseudo-terminal. Output is sent while the
// channel's window allows; when it is used up the pipes are not read, so
// the child blocks on a full pipe instead of the agent buffering it.
#pragma once

#include "tools/guest-agent/session.hpp"

#include <memory>

namespace banger::guest {

class ExecSession final : public Session {
public:
  /// Input the host may send ahead of what the child reads.
  static constexpr std::size_t max_pending_input = 1024 * 1024;

  /// Starts the command and answers started; nullptr (and error sent) when
  /// it cannot start: a bad request, command not found, no such cwd.
  static std::unique_ptr<ExecSession> start(std::uint32_t channel, const agent::Exec& exec,
                                            Outbox& out);

  /// Kills the process group if the command has not ended here: a channel
  /// whose host went away leaves nothing running.
  ~ExecSession() override;

  void on_frame(const agent::Frame& frame) override;
  void fill(PollSet& polls) override;
  void handle(const PollSet& polls) override;
  bool on_child_exit(pid_t pid, int status) override;
  bool done() const override { return ended_ || failed_; }

private:
  ExecSession(std::uint32_t channel, Outbox& out) : Session(channel, out) {}

  void read_output(Fd& fd, agent::Type type);
  void write_input();
  void close_input();
  void finish_if_over();

  pid_t pid_ = -1;
  bool tty_ = false;
  Fd input_, output_, errors_; ///< with a tty: input_ and output_ both the master
  std::string pending_input_;
  bool input_eof_ = false;
  bool terminal_closed_ = false; ///< its master read EIO: no process has it open
  SendWindow window_;
  bool exited_ = false;
  int status_ = 0;
  bool ended_ = false;
  std::size_t input_index_ = 0, output_index_ = 0, errors_index_ = 0;
  bool input_polled_ = false, output_polled_ = false, errors_polled_ = false;
};

} // namespace banger::guest
