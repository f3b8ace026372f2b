#include "privileged/host/process.hpp"

#include "privileged/host/errors.hpp"
#include "privileged/host/pidfd.hpp"
#include "privileged/host/vm_dirs.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace banger::host {

namespace {

constexpr mode_t log_mode = 0640;

/// Child steps that can fail, reported to the parent through the error pipe.
enum class ChildStep : int {
  setsid,
  dup2,
  setgroups,
  setresgid,
  setresuid,
  chdir,
  close_fds,
  execve,
};

const char* step_name(int step) {
  switch (static_cast<ChildStep>(step)) {
  case ChildStep::setsid:
    return "setsid";
  case ChildStep::dup2:
    return "dup2";
  case ChildStep::setgroups:
    return "setgroups";
  case ChildStep::setresgid:
    return "setresgid";
  case ChildStep::setresuid:
    return "setresuid";
  case ChildStep::chdir:
    return "chdir";
  case ChildStep::close_fds:
    return "close_range";
  case ChildStep::execve:
    return "execve";
  }
  return "child setup";
}

struct ChildFailure {
  int step;
  int errnum;
};

/// Everything the child needs, prepared before fork: after fork the child
/// may only make async-signal-safe calls (the helper is multithreaded).
struct ChildPlan {
  const char* binary;
  char* const* argv;
  char* const* envp;
  int log_fd;
  int null_fd;
  int error_fd;
  int go_fd;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  int max_fd;
};

[[noreturn]] void fail_child(const ChildPlan& plan, ChildStep step) {
  ChildFailure failure{static_cast<int>(step), errno};
  ssize_t ignored = ::write(plan.error_fd, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

[[noreturn]] void run_child(const ChildPlan& plan) {
  // Handlers installed by the helper must not run in the child, and an
  // ignored SIGCHLD would survive execve into the VMM.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigemptyset(&dfl.sa_mask);
  for (int signo = 1; signo < NSIG; ++signo)
    ::sigaction(signo, &dfl, nullptr); // fails harmlessly for KILL, STOP
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  // Wait until the parent holds a pidfd and has read the start time: until
  // then this process cannot have exited, so its pid cannot be recycled.
  char go = 0;
  ssize_t n;
  do {
    n = ::read(plan.go_fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1)
    ::_exit(126);

  if (::setsid() < 0)
    fail_child(plan, ChildStep::setsid);
  // All descriptors are >= 3 (see launch_vmm), so dup2 always makes a copy
  // without O_CLOEXEC.
  if (::dup2(plan.null_fd, 0) < 0 || ::dup2(plan.log_fd, 1) < 0 ||
      ::dup2(plan.log_fd, 2) < 0)
    fail_child(plan, ChildStep::dup2);
  if (plan.switch_user) {
    // Raw system calls: glibc's wrappers synchronise the credentials of all
    // threads, which is neither needed nor safe after fork.
    gid_t groups[1] = {plan.gid};
    if (::syscall(SYS_setgroups, 1, groups) != 0)
      fail_child(plan, ChildStep::setgroups);
    if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0)
      fail_child(plan, ChildStep::setresgid);
    if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0)
      fail_child(plan, ChildStep::setresuid);
  }
  if (::chdir("/") != 0)
    fail_child(plan, ChildStep::chdir);
  // Close everything else at exec; the error pipe must stay open until then.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < plan.max_fd; ++fd)
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  ::execve(plan.binary, plan.argv, plan.envp);
  fail_child(plan, ChildStep::execve);
}

/// Moves `fd` to a number >= 3 with O_CLOEXEC, so the child's dup2 onto
/// 0-2 always copies (dup2 of an fd onto itself keeps O_CLOEXEC).
Result<UniqueFd> above_stdio(UniqueFd fd, std::string_view what) {
  if (fd.get() >= 3)
    return fd;
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  if (!moved)
    return system_error("fcntl(F_DUPFD_CLOEXEC)", what, errno);
  return moved;
}

/// Removes a stale socket (or symlink) `name` in the run directory; anything
/// else there is left alone and reported.
Status remove_stale_socket(int run_fd, const char* name,
                           const std::filesystem::path& shown) {
  struct stat st {};
  if (::fstatat(run_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return {};
    return system_error("fstatat", shown.string(), errno);
  }
  if (!S_ISSOCK(st.st_mode) && !S_ISLNK(st.st_mode))
    return conflict(shown.string() + " exists and is not a socket");
  if (::unlinkat(run_fd, name, 0) != 0 && errno != ENOENT)
    return system_error("unlinkat", shown.string(), errno);
  return {};
}

Result<UniqueFd> open_log(const VmmSpec& spec, const HomeLayout& layout) {
  auto vm_dir = open_vm_state_dir(layout, spec.vm_id, Create::no);
  if (!vm_dir && vm_dir.error().code == Errc::not_found)
    vm_dir = open_vm_state_dir(layout, spec.vm_id, Create::yes, spec.run_as);
  if (!vm_dir)
    return std::move(vm_dir).error();
  std::string shown = spec.log_path.string();
  // O_NONBLOCK: opening a planted FIFO must fail, not hang.
  UniqueFd log(::openat(vm_dir->get(), "vmm.log",
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
                            O_NONBLOCK | O_CLOEXEC,
                        log_mode));
  if (!log) {
    if (errno == ELOOP)
      return refused(shown + " is a symlink");
    return system_error("openat", shown, errno);
  }
  struct stat st {};
  if (::fstat(log.get(), &st) != 0)
    return system_error("fstat", shown, errno);
  if (!S_ISREG(st.st_mode))
    return refused(shown + " is not a regular file");
  if (::fcntl(log.get(), F_SETFL, O_APPEND) != 0)
    return system_error("fcntl(F_SETFL)", shown, errno);
  if (spec.run_as &&
      ::fchown(log.get(), spec.run_as->uid, spec.run_as->gid) != 0)
    return system_error("fchown", shown, errno);
  return above_stdio(std::move(log), shown);
}

/// Reaps a child that failed before or in execve (ECHILD if SIGCHLD is
/// ignored and the kernel reaped it).
void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

} // namespace

Result<ProcessStat> read_process_stat(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  if (!in)
    return not_found("process " + std::to_string(pid) + " does not exist");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // comm (field 2) is in parentheses and may itself contain ") ".
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return Error{Errc::system, "parse " + path + ": no ')'"};
  std::istringstream fields(text.substr(close + 1));
  ProcessStat stat;
  stat.identity.pid = pid;
  std::string field;
  // Field 3 is the first after ')'; start time is field 22.
  for (int number = 3; number <= 22; ++number) {
    if (!(fields >> field))
      return Error{Errc::system, "parse " + path + ": too few fields"};
    const char* end = field.data() + field.size();
    bool parsed = true;
    if (number == 3)
      stat.state = field[0];
    else if (number == 4)
      parsed = std::from_chars(field.data(), end, stat.parent).ptr == end;
    else if (number == 22)
      parsed =
          std::from_chars(field.data(), end, stat.identity.start_time).ptr ==
          end;
    if (!parsed)
      return Error{Errc::system,
                   "parse " + path + ": bad field " + std::to_string(number)};
  }
  return stat;
}

Result<ProcessIdentity> read_identity(pid_t pid) {
  auto stat = read_process_stat(pid);
  if (!stat)
    return std::move(stat).error();
  return stat->identity;
}

Result<LaunchedVmm> launch_vmm(const VmmSpec& spec, const HomeLayout& layout) {
  if (auto st = validate_vm_id(spec.vm_id); !st)
    return std::move(st).error();
  std::string binary = spec.binary.string();

  auto run_dir = open_vm_run_dir(layout, spec.vm_id, Create::no);
  if (!run_dir)
    return std::move(run_dir).error();
  if (spec.kind == VmmKind::firecracker)
    if (auto st =
            remove_stale_socket(run_dir->get(), "api.sock", spec.api_socket);
        !st)
      return std::move(st).error();
  if (spec.kind == VmmKind::qemu)
    if (auto st =
            remove_stale_socket(run_dir->get(), "qmp.sock", spec.qmp_socket);
        !st)
      return std::move(st).error();

  auto log = open_log(spec, layout);
  if (!log)
    return std::move(log).error();
  UniqueFd null_raw(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_raw)
    return system_error("open", "/dev/null", errno);
  auto null_fd = above_stdio(std::move(null_raw), "/dev/null");
  if (!null_fd)
    return std::move(null_fd).error();

  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0)
    return system_error("pipe2", binary, errno);
  UniqueFd error_read(error_pipe[0]);
  UniqueFd error_write(error_pipe[1]);
  // A socket pair, not a pipe: send(MSG_NOSIGNAL) to a child that died
  // early must not raise SIGPIPE in the helper.
  int go_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go_pair) != 0)
    return system_error("socketpair", binary, errno);
  UniqueFd go_parent(go_pair[0]);
  UniqueFd go_child(go_pair[1]);

  std::vector<std::string> argv = vmm_argv(spec);
  std::vector<char*> argv_ptrs;
  for (auto& arg : argv)
    argv_ptrs.push_back(arg.data());
  argv_ptrs.push_back(nullptr);
  long open_max = ::sysconf(_SC_OPEN_MAX);

  ChildPlan plan{};
  plan.binary = binary.c_str();
  plan.argv = argv_ptrs.data();
  plan.envp = environ;
  plan.log_fd = log->get();
  plan.null_fd = null_fd->get();
  plan.error_fd = error_write.get();
  plan.go_fd = go_child.get();
  plan.switch_user = spec.run_as.has_value();
  plan.uid = spec.run_as ? spec.run_as->uid : 0;
  plan.gid = spec.run_as ? spec.run_as->gid : 0;
  plan.max_fd =
      open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;

  pid_t pid = ::fork();
  if (pid < 0)
    return system_error("fork", binary, errno);
  if (pid == 0)
    run_child(plan);

  error_write.reset();
  go_child.reset();
  UniqueFd pidfd(open_pidfd(pid));
  if (!pidfd) {
    int err = errno;
    go_parent.reset(); // the child reads EOF and exits
    reap(pid);
    return system_error("pidfd_open", binary, err);
  }
  auto stat = read_process_stat(pid);
  if (!stat || stat->parent != ::getpid()) {
    go_parent.reset();
    reap(pid);
    if (!stat)
      return std::move(stat).error();
    return Error{Errc::internal, "pid " + std::to_string(pid) +
                                     " is not the child just forked"};
  }
  if (::send(go_parent.get(), "g", 1, MSG_NOSIGNAL) != 1) {
    int err = errno;
    go_parent.reset();
    reap(pid);
    return system_error("send", binary + " (start signal)", err);
  }
  go_parent.reset();

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(error_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof failure) {
    reap(pid);
    return system_error(step_name(failure.step), binary, failure.errnum);
  }
  if (n != 0) {
    int err = errno;
    reap(pid);
    return n < 0 ? system_error("read", binary + " (error pipe)", err)
                 : Error{Errc::internal,
                         "short read from the error pipe of " + binary};
  }
  return LaunchedVmm{stat->identity, std::move(pidfd), std::move(argv)};
}

} // namespace banger::host
