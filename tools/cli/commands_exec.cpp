// vm exec, and vm cp through the guest agent (docs/agent.md): no SSH, no
// guest network. A command is a session the CLI pulls its output from
// (VmSessionIoRequest, messages/cli_protocol.hpp); stdin is pushed in the
// same requests.
//
// One actor owns the session: it keeps one waiting poll in flight and, next
// to it, at most one request carrying input. Both replies may carry output;
// they come from the same daemon actor over the same connection, so taking
// them in the order they arrive keeps stdout and stderr in order. A thread
// reads stdin (and the terminal's signals) and hands each chunk to the
// actor, waiting until the daemon took it: a slow guest slows the reader,
// nothing piles up.
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include <caf/all.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

namespace banger::cli {

namespace {

using input_atom = caf::atom_constant<caf::atom("input")>;

/// What the stdin thread hands over: bytes, the end of input, a signal, or a
/// new terminal size (rows and cols nonzero).
struct Input {
  std::string bytes;
  bool eof = false;
  std::uint32_t signal = 0;
  std::uint32_t rows = 0, cols = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Input& x) {
  return f(caf::meta::type_name("banger.cli.Input"), x.bytes, x.eof, x.signal, x.rows, x.cols);
}

VmSessionIoRequest session_request(const std::string& vm_id, std::uint32_t session) {
  VmSessionIoRequest r;
  r.env = client_envelope();
  r.ref = vm_id;
  r.session = session;
  return r;
}

struct ExecOutcome {
  std::optional<caf::error> error;
  std::int32_t exit_code = 0, exit_signal = 0;
};

/// Hands the stdin thread's chunks to the actor one at a time.
struct InputGate {
  std::mutex mutex;
  std::condition_variable cv;
  bool taken = true;
  bool closed = false;
};

// -- terminal ------------------------------------------------------------------

int signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  auto byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1);
}

/// Puts the terminal in raw mode for the lifetime of the object.
class RawTerminal {
public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0)
      return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_)
      ::tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

std::pair<std::uint32_t, std::uint32_t> terminal_size() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0)
    return {24, 80};
  return {ws.ws_row, ws.ws_col};
}

// -- the session actor ------------------------------------------------------------

struct ExecState {
  control_actor control;
  std::string vm_id;
  std::uint32_t session = 0;
  std::promise<ExecOutcome>* done = nullptr;
  std::shared_ptr<InputGate> gate;
  bool finished = false;
  bool input_in_flight = false;
  std::deque<Input> queued;
};

void finish(caf::stateful_actor<ExecState>* self, ExecOutcome outcome) {
  auto& st = self->state;
  if (st.finished)
    return;
  st.finished = true;
  {
    std::lock_guard lock(st.gate->mutex);
    st.gate->closed = true;
  }
  st.gate->cv.notify_all();
  st.done->set_value(std::move(outcome));
  self->quit();
}

/// Output of any reply, in arrival order; true once the session ended.
bool take(caf::stateful_actor<ExecState>* self, VmSessionIo& io) {
  if (!io.out.empty() && !write_all(STDOUT_FILENO, io.out.data(), io.out.size())) {
    // Our stdout is gone (a closed pipe): the command's output has nowhere
    // to go, as with a local command writing to a closed pipe.
    finish(self, ExecOutcome{std::nullopt, 0, SIGPIPE});
    return true;
  }
  if (!io.err.empty())
    write_all(STDERR_FILENO, io.err.data(), io.err.size());
  if (io.ended) {
    finish(self, ExecOutcome{std::nullopt, io.exit_code, io.exit_signal});
    return true;
  }
  return false;
}

void poll_output(caf::stateful_actor<ExecState>* self) {
  auto r = session_request(self->state.vm_id, self->state.session);
  r.wait_ms = session_max_wait_ms;
  self->request(self->state.control, std::chrono::milliseconds(session_max_wait_ms) + std::chrono::seconds(30), r)
    .then(
      [self](VmSessionIo& io) {
        if (!take(self, io))
          poll_output(self);
      },
      [self](caf::error& e) { finish(self, ExecOutcome{std::move(e)}); });
}

void send_input(caf::stateful_actor<ExecState>* self) {
  auto& st = self->state;
  if (st.input_in_flight || st.queued.empty() || st.finished)
    return;
  auto in = std::move(st.queued.front());
  st.queued.pop_front();
  auto r = session_request(st.vm_id, st.session);
  r.input = std::move(in.bytes);
  r.input_eof = in.eof;
  r.signal = in.signal;
  r.rows = in.rows;
  r.cols = in.cols;
  st.input_in_flight = true;
  self->request(st.control, std::chrono::seconds(30), r)
    .then(
      [self](VmSessionIo& io) {
        auto& st = self->state;
        st.input_in_flight = false;
        if (take(self, io))
          return;
        {
          std::lock_guard lock(st.gate->mutex);
          st.gate->taken = true;
        }
        st.gate->cv.notify_all();
        send_input(self);
      },
      [self](caf::error& e) { finish(self, ExecOutcome{std::move(e)}); });
}

caf::behavior exec_actor(caf::stateful_actor<ExecState>* self, control_actor control,
                         std::string vm_id, std::uint32_t session, std::promise<ExecOutcome>* done,
                         std::shared_ptr<InputGate> gate) {
  auto& st = self->state;
  st.control = std::move(control);
  st.vm_id = std::move(vm_id);
  st.session = session;
  st.done = done;
  st.gate = std::move(gate);
  self->monitor(st.control);
  self->set_down_handler([self](caf::down_msg&) {
    finish(self, ExecOutcome{caf::make_error(caf::sec::request_receiver_down,
                                             "the connection to bangerd was lost")});
  });
  poll_output(self);
  return {
    [self](input_atom, Input& in) {
      self->state.queued.push_back(std::move(in));
      send_input(self);
    },
  };
}

/// Reads stdin (when it is forwarded) and the signals the terminal sends,
/// until stdin ends or the session does.
void pump_input(caf::actor actor, std::shared_ptr<InputGate> gate, bool forward_stdin,
                bool tty) {
  auto hand_over = [&](Input in) {
    std::unique_lock lock(gate->mutex);
    gate->cv.wait(lock, [&] { return gate->taken || gate->closed; });
    if (gate->closed)
      return false;
    gate->taken = false;
    lock.unlock();
    caf::anon_send(actor, input_atom::value, std::move(in));
    return true;
  };
  if (!forward_stdin)
    if (!hand_over(Input{{}, true}))
      return;
  bool stdin_open = forward_stdin;
  std::string buffer(64 * 1024, '\0');
  for (;;) {
    pollfd fds[2] = {{signal_pipe[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    int n = ::poll(fds, stdin_open ? 2 : 1, -1);
    if (n < 0 && errno == EINTR)
      continue;
    {
      std::lock_guard lock(gate->mutex);
      if (gate->closed)
        return;
    }
    if (fds[0].revents & POLLIN) {
      unsigned char sig = 0;
      if (::read(signal_pipe[0], &sig, 1) != 1 || sig == 0)
        continue;
      Input in;
      if (sig == SIGWINCH) {
        if (!tty)
          continue;
        auto [rows, cols] = terminal_size();
        in.rows = rows;
        in.cols = cols;
      } else {
        in.signal = sig;
      }
      if (!hand_over(std::move(in)))
        return;
      continue;
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      auto got = ::read(STDIN_FILENO, buffer.data(), buffer.size());
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        stdin_open = false;
        if (!hand_over(Input{{}, true}))
          return;
        continue;
      }
      if (!hand_over(Input{buffer.substr(0, static_cast<std::size_t>(got))}))
        return;
    }
  }
}

/// The exit code of `vm exec`: the command's, or 128 + the signal that
/// ended it, as a shell reports it.
int command_exit(const ExecOutcome& o) {
  return o.exit_signal != 0 ? 128 + o.exit_signal : o.exit_code;
}

// -- vm cp through the agent ---------------------------------------------------------

int copy_in(Context& ctx, const std::string& vm_id, const std::string& local,
            std::string guest_path) {
  // "VM:/root/" names a directory: the file keeps its name there.
  if (!guest_path.empty() && guest_path.back() == '/') {
    auto slash = local.find_last_of('/');
    guest_path += slash == std::string::npos ? local : local.substr(slash + 1);
  }
  std::ifstream in(local, std::ios::binary);
  struct stat sb{};
  if (!in || ::stat(local.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode))
    return report_error(ctx, Errc::invalid_argument,
                        "vm cp: cannot read " + local
                          + (in ? std::string(": not a regular file (use -r over SSH)")
                                : ": " + std::string(std::strerror(errno))),
                        "");
  auto size = static_cast<std::uint64_t>(sb.st_size);
  VmFileWriteRequest r;
  r.ref = vm_id;
  r.path = guest_path;
  r.mode = sb.st_mode & 07777;
  r.size = size;
  std::uint64_t sent = 0;
  std::string chunk(max_session_chunk, '\0');
  do {
    in.read(chunk.data(), static_cast<std::streamsize>(
                            std::min<std::uint64_t>(max_session_chunk, size - sent)));
    auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0 && sent < size)
      return report_error(ctx, Errc::conflict, "vm cp: " + local + " shrank while it was read", "");
    r.env = client_envelope();
    r.data = chunk.substr(0, got);
    sent += got;
    r.last = sent >= size;
    auto written = ctx.session->call<VmFileWritten>(r, ctx.timeout());
    if (!written)
      return report_error(ctx, written.error(), "vm cp: ");
    r.session = written->session;
    if (r.last && !written->done)
      return report_error(ctx, Errc::conflict, "vm cp: the guest did not commit the file", "");
  } while (sent < size);
  return exit_ok;
}

int copy_out(Context& ctx, const std::string& vm_id, const std::string& guest_path,
             std::string local) {
  struct stat sb{};
  if (::stat(local.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode)) {
    auto slash = guest_path.find_last_of('/');
    local += "/" + guest_path.substr(slash + 1);
  }
  auto started = ctx.session->call<VmSessionStarted>(
    VmFileReadRequest{client_envelope(), vm_id, guest_path}, ctx.timeout());
  if (!started)
    return report_error(ctx, started.error(), "vm cp: ");
  // Written beside the target and renamed at the end: a failed copy leaves
  // no half file behind.
  auto temp = local + ".banger-cp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  started->mode & 0777 ? started->mode & 0777 : 0644);
  if (fd < 0)
    return report_error(ctx, Errc::invalid_argument,
                        "vm cp: cannot write " + temp + ": " + std::strerror(errno), "");
  auto fail = [&](int code) {
    ::close(fd);
    ::unlink(temp.c_str());
    auto close = session_request(vm_id, started->session);
    close.close = true;
    (void)ctx.session->call<VmSessionIo>(close, ctx.timeout());
    return code;
  };
  std::uint64_t got = 0;
  for (;;) {
    auto r = session_request(vm_id, started->session);
    r.wait_ms = session_max_wait_ms;
    auto io = ctx.session->call<VmSessionIo>(r, ctx.timeout() + std::chrono::milliseconds(session_max_wait_ms));
    if (!io)
      return fail(report_error(ctx, io.error(), "vm cp: "));
    if (!io->out.empty() && !write_all(fd, io->out.data(), io->out.size()))
      return fail(report_error(ctx, Errc::system,
                               "vm cp: writing " + temp + ": " + std::strerror(errno), ""));
    got += io->out.size();
    if (io->ended)
      break;
  }
  if (got != started->size)
    return fail(report_error(ctx, Errc::conflict,
                             "vm cp: got " + std::to_string(got) + " of "
                               + std::to_string(started->size) + " bytes",
                             ""));
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(temp.c_str(), local.c_str()) != 0) {
    auto why = std::string(std::strerror(errno));
    ::unlink(temp.c_str());
    return report_error(ctx, Errc::system, "vm cp: saving " + local + ": " + why, "");
  }
  return exit_ok;
}

} // namespace

int cmd_vm_exec(Context& ctx) {
  auto& inv = ctx.inv;
  bool tty = inv.has("--tty");
  bool forward_stdin = tty || inv.has("--interactive") || ::isatty(STDIN_FILENO) != 1;
  VmExecRequest request;
  request.env = client_envelope();
  request.ref = inv.args[0];
  request.argv = inv.rest;
  request.environment = inv.values("--env");
  request.cwd = inv.value("--workdir");
  request.tty = tty;
  if (tty)
    std::tie(request.rows, request.cols) = terminal_size();
  auto started = ctx.session->call<VmSessionStarted>(request, ctx.timeout());
  if (!started)
    return report_error(ctx, started.error(), "vm exec: ");

  if (::pipe2(signal_pipe, O_CLOEXEC) != 0)
    return report_error(ctx, Errc::system, std::string("pipe: ") + std::strerror(errno), "");
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  ::sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  // With a terminal, ^C is a byte for the guest's terminal; without one,
  // the signals a user sends reach the command.
  ::sigaction(SIGWINCH, &sa, nullptr);
  if (!tty) {
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::optional<RawTerminal> raw;
  if (tty && ::isatty(STDIN_FILENO) == 1)
    raw.emplace(STDIN_FILENO);

  std::promise<ExecOutcome> done;
  auto outcome = done.get_future();
  auto gate = std::make_shared<InputGate>();
  auto actor = ctx.session->system().spawn(exec_actor, ctx.session->control(), started->vm_id,
                                           started->session, &done, gate);
  std::thread reader(pump_input, actor, gate, forward_stdin, tty);
  auto result = outcome.get();
  // The reader may sit in poll() on a stdin that never ends: wake it.
  on_signal(0);
  reader.join();
  raw.reset();
  if (result.error)
    return report_error(ctx, *result.error, "vm exec: ");
  return command_exit(result);
}

/// `vm cp` with the guest agent: one regular file either way. True when
/// this path applies (the VM runs an agent, no SSH options were given);
/// `exit_code` is then the result.
bool copy_with_agent(Context& ctx, const std::string& src_vm, const std::string& src,
                     const std::string& dst_vm, const std::string& dst, int& exit_code) {
  if (ctx.inv.has("--recursive") || !ctx.inv.tool_args.empty() || ctx.inv.has("--ssh"))
    return false;
  auto ref = src_vm.empty() ? dst_vm : src_vm;
  auto shown = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), ref}, ctx.timeout());
  if (!shown || shown->runtime.agent.empty() || shown->runtime.state != VmState::running)
    return false;
  exit_code = src_vm.empty() ? copy_in(ctx, shown->id, src, dst)
                             : copy_out(ctx, shown->id, src, dst);
  return true;
}

} // namespace banger::cli
