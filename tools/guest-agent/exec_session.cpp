#include "tools/guest-agent/exec_session.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace banger::guest {

namespace {

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

std::optional<Failure> check(const agent::Exec& exec) {
  auto invalid = [](std::string what) { return Failure{EINVAL, std::move(what)}; };
  if (exec.argv.empty() || exec.argv.front().empty())
    return invalid("no command given");
  for (const auto& a : exec.argv)
    if (has_nul(a))
      return invalid("an argument holds a NUL byte");
  for (const auto& e : exec.env)
    if (has_nul(e) || e.find('=') == std::string::npos || e.front() == '=')
      return invalid("environment entry is not NAME=value");
  if (!exec.cwd.empty() && (exec.cwd.front() != '/' || has_nul(exec.cwd)))
    return invalid("cwd must be an absolute path");
  return std::nullopt;
}

/// What the child reports through the exec-failure pipe before it exits.
struct ChildFailure {
  int stage; ///< 0: the terminal, 1: cwd, 2: exec
  int error;
};

[[noreturn]] void child_fails(int report_fd, int stage) {
  ChildFailure failure{stage, errno};
  // Nothing to do if this write fails: the parent then sees a plain exit.
  auto ignored = ::write(report_fd, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

/// In the forked child: from here on only system calls and the copy of the
/// request this process has (the agent is single-threaded, so the heap is
/// usable after fork).
[[noreturn]] void run_child(const agent::Exec& exec, int report_fd, int in, int out, int err,
                            const char* terminal) {
  reset_signals_in_child();
  // Its own session: SIGNAL reaches the command's whole process group, and
  // a terminal opened below becomes its controlling terminal.
  ::setsid();
  if (terminal != nullptr) {
    int slave = ::open(terminal, O_RDWR);
    if (slave < 0 || ::ioctl(slave, TIOCSCTTY, 0) != 0)
      child_fails(report_fd, 0);
    in = out = err = slave;
  }
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  for (const auto& entry : exec.env) {
    auto eq = entry.find('=');
    ::setenv(entry.substr(0, eq).c_str(), entry.substr(eq + 1).c_str(), 1);
  }
  if (!exec.cwd.empty()) {
    if (::chdir(exec.cwd.c_str()) != 0)
      child_fails(report_fd, 1);
  } else if (::chdir("/root") != 0 && ::chdir("/") != 0) {
    child_fails(report_fd, 1);
  }
  // Whatever the agent inherited without close-on-exec stays out of the
  // command (everything the agent opens itself has it already).
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  std::vector<char*> args;
  for (const auto& a : exec.argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  child_fails(report_fd, 2);
}

struct Pipe {
  Fd read, write;
};

std::optional<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return std::nullopt;
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

} // namespace

std::unique_ptr<ExecSession> ExecSession::start(std::uint32_t channel, const agent::Exec& exec,
                                                Outbox& out) {
  if (auto bad = check(exec)) {
    out.send_error(channel, *bad);
    return nullptr;
  }
  std::unique_ptr<ExecSession> session(new ExecSession(channel, out));
  auto& s = *session;
  s.tty_ = (exec.flags & agent::exec_tty) != 0;
  std::optional<Pipe> in, stdout_pipe, stderr_pipe;
  std::string terminal;
  if (s.tty_) {
    Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    char name[128];
    if (!master || ::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 ||
        ::ptsname_r(master.get(), name, sizeof name) != 0) {
      out.send_error(channel, system_failure("opening a pseudo-terminal", errno));
      return nullptr;
    }
    terminal = name;
    if (exec.rows != 0 && exec.cols != 0) {
      winsize size{static_cast<unsigned short>(exec.rows), static_cast<unsigned short>(exec.cols),
                   0, 0};
      ::ioctl(master.get(), TIOCSWINSZ, &size);
    }
    s.input_.reset(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
    s.output_ = std::move(master);
    if (!s.input_) {
      out.send_error(channel, system_failure("duplicating the terminal", errno));
      return nullptr;
    }
  } else {
    in = make_pipe();
    stdout_pipe = make_pipe();
    stderr_pipe = make_pipe();
    if (!in || !stdout_pipe || !stderr_pipe) {
      out.send_error(channel, system_failure("creating pipes", errno));
      return nullptr;
    }
  }
  auto report = make_pipe();
  if (!report) {
    out.send_error(channel, system_failure("creating a pipe", errno));
    return nullptr;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    out.send_error(channel, system_failure("fork", errno));
    return nullptr;
  }
  if (pid == 0) {
    if (s.tty_)
      run_child(exec, report->write.get(), -1, -1, -1, terminal.c_str());
    run_child(exec, report->write.get(), in->read.get(), stdout_pipe->write.get(),
              stderr_pipe->write.get(), nullptr);
  }
  report->write.reset();
  // The report pipe closes on a successful exec (close-on-exec) or carries
  // why the child could not get there: started or error is known here.
  ChildFailure failure{};
  ssize_t got;
  do {
    got = ::read(report->read.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
      continue;
    static const char* stages[] = {"setting up the terminal", "changing to the working directory",
                                   "running"};
    std::string what = stages[failure.stage >= 0 && failure.stage <= 2 ? failure.stage : 2];
    if (failure.stage == 1)
      what += " " + (exec.cwd.empty() ? std::string("/root") : exec.cwd);
    else if (failure.stage == 2)
      what += " " + exec.argv.front();
    out.send_error(channel, system_failure(what, failure.error));
    return nullptr;
  }
  s.pid_ = pid;
  if (!s.tty_) {
    s.input_ = std::move(in->write);
    s.output_ = std::move(stdout_pipe->read);
    s.errors_ = std::move(stderr_pipe->read);
  }
  for (Fd* fd : {&s.input_, &s.output_, &s.errors_})
    if (*fd)
      set_nonblocking(fd->get());
  out.send(agent::Type::started, channel, agent::Started{static_cast<std::uint32_t>(pid)});
  return session;
}

ExecSession::~ExecSession() {
  if (pid_ > 0 && !ended_)
    ::kill(-pid_, SIGKILL);
}

void ExecSession::on_frame(const agent::Frame& frame) {
  using agent::Type;
  switch (frame.type) {
  case Type::stdin_data:
    if (!input_ || input_eof_)
      return; // the command closed its stdin: what follows has no reader
    if (pending_input_.size() + frame.payload.size() > max_pending_input) {
      fail(Failure{ENOBUFS, "more than " + std::to_string(max_pending_input) +
                                " bytes of input the command has not read"});
      return;
    }
    pending_input_ += frame.payload;
    write_input();
    return;
  case Type::stdin_eof:
    input_eof_ = true;
    // A terminal has no end of input of its own: the line discipline's
    // end-of-file character (^D) is what a user would type.
    if (tty_ && input_)
      pending_input_ += '\x04';
    write_input();
    return;
  case Type::signal: {
    auto signal = agent::decode_signal(frame.payload);
    if (!signal || signal->signo == 0 || signal->signo > 64) {
      fail(Failure{EINVAL, "not a signal number"});
      return;
    }
    ::kill(-pid_, static_cast<int>(signal->signo));
    return;
  }
  case Type::resize: {
    auto resize = agent::decode_resize(frame.payload);
    if (!resize) {
      fail(Failure{EINVAL, "malformed resize"});
      return;
    }
    if (tty_ && output_) {
      winsize size{static_cast<unsigned short>(resize->rows),
                   static_cast<unsigned short>(resize->cols), 0, 0};
      ::ioctl(output_.get(), TIOCSWINSZ, &size);
    }
    return;
  }
  case Type::window: {
    auto window = agent::decode_window(frame.payload);
    if (!window) {
      fail(Failure{EINVAL, "malformed window"});
      return;
    }
    window_.grant(window->bytes);
    return;
  }
  default:
    fail(Failure{EINVAL, "unexpected " + std::string(agent::to_string(frame.type)) +
                             " on a command's channel"});
  }
}

void ExecSession::fill(PollSet& polls) {
  bool may_send = window_.available() > 0 && out_.has_room();
  output_polled_ = output_ && !terminal_closed_ && may_send;
  errors_polled_ = errors_ && may_send;
  input_polled_ = input_ && !pending_input_.empty();
  if (output_polled_)
    output_index_ = polls.add(output_.get(), POLLIN);
  if (errors_polled_)
    errors_index_ = polls.add(errors_.get(), POLLIN);
  if (input_polled_)
    input_index_ = polls.add(input_.get(), POLLOUT);
}

void ExecSession::handle(const PollSet& polls) {
  if (done())
    return;
  if (output_polled_ && polls.revents(output_index_) != 0)
    read_output(output_, agent::Type::stdout_data);
  if (errors_polled_ && polls.revents(errors_index_) != 0)
    read_output(errors_, agent::Type::stderr_data);
  if (input_polled_ && polls.revents(input_index_) != 0)
    write_input();
  finish_if_over();
}

bool ExecSession::on_child_exit(pid_t pid, int status) {
  if (pid != pid_)
    return false;
  exited_ = true;
  status_ = status;
  finish_if_over();
  return true;
}

void ExecSession::read_output(Fd& fd, agent::Type type) {
  char buffer[agent::max_payload];
  auto want = std::min<std::uint64_t>(window_.available(), sizeof buffer);
  if (want == 0)
    return;
  auto n = ::read(fd.get(), buffer, want);
  if (n > 0) {
    window_.take(static_cast<std::size_t>(n));
    out_.send(agent::Frame{type, channel_, std::string(buffer, static_cast<std::size_t>(n))});
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  // A terminal's master reads EIO once no process has the terminal open.
  // It stays open until the command has been reaped: closing it hangs the
  // terminal up, and a command that closed its descriptors but is still
  // running its exit handlers would die of the SIGHUP.
  if (tty_ && &fd == &output_) {
    terminal_closed_ = true;
    return;
  }
  fd.reset(); // the end of a pipe
}

void ExecSession::write_input() {
  while (input_ && !pending_input_.empty()) {
    auto n = ::write(input_.get(), pending_input_.data(), pending_input_.size());
    if (n > 0) {
      pending_input_.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    // EPIPE: the command closed its stdin; it will not read the rest.
    pending_input_.clear();
    input_.reset();
    return;
  }
  if (input_eof_ && pending_input_.empty())
    close_input();
}

void ExecSession::close_input() {
  // A terminal's input is the master itself: closing it would hang up the
  // command's terminal, so after ^D it stays open.
  if (!tty_)
    input_.reset();
}

void ExecSession::finish_if_over() {
  bool output_over = !output_ || terminal_closed_;
  if (ended_ || failed_ || !exited_ || !output_over || errors_)
    return;
  input_.reset();
  output_.reset();
  agent::Exited exited;
  if (WIFSIGNALED(status_)) {
    exited.signal = WTERMSIG(status_);
    exited.code = 128 + exited.signal; // what a shell reports for it
  } else {
    exited.code = WEXITSTATUS(status_);
  }
  out_.send(agent::Type::exited, channel_, exited);
  ended_ = true;
}

} // namespace banger::guest
