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
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
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
  stat,
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
  case ChildStep::stat:
    return "read /proc/self/stat";
  case ChildStep::execve:
    return "execve";
  }
  return "child setup";
}

/// Everything the child needs, prepared before the clone. The child shares
/// the parent's memory (CLONE_VM) while the parent thread is suspended
/// (CLONE_VFORK), so it may only make async-signal-safe calls and write
/// nothing but `failed_step` and `failed_errno`, which the parent reads once
/// the child has exec'd or exited (and `stat`).
struct ChildPlan {
  const char* binary;
  char* const* argv;
  char* const* envp;
  int log_fd;
  int null_fd;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  int max_fd;
  int failed_step = -1;
  int failed_errno = 0;
  /// /proc/self/stat as the child read it just before execve: its pid and
  /// start time, even if the VMM exits (and is reaped) at once.
  char stat[1024] = {};
  int stat_length = 0;
};

// The child runs on the parent's memory with a stack the sanitizers do not
// know: their bookkeeping at a noreturn call (sigaltstack on "the thread's"
// stack) would write into the suspended parent's frames. Nothing in the
// child is instrumented.
#define BANGER_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

[[noreturn]] BANGER_CHILD_CODE void fail_child(ChildPlan& plan, ChildStep step) {
  plan.failed_errno = errno;
  plan.failed_step = static_cast<int>(step);
  ::_exit(127);
}

[[noreturn]] BANGER_CHILD_CODE void run_child(ChildPlan& plan) {
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
  // Close everything else at exec.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < plan.max_fd; ++fd)
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  int stat_fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (stat_fd < 0)
    fail_child(plan, ChildStep::stat);
  ssize_t got = ::read(stat_fd, plan.stat, sizeof plan.stat - 1);
  if (got <= 0)
    fail_child(plan, ChildStep::stat);
  ::close(stat_fd);
  plan.stat_length = static_cast<int>(got);
  ::execve(plan.binary, plan.argv, plan.envp);
  fail_child(plan, ChildStep::execve);
}

BANGER_CHILD_CODE int child_main(void* plan) { run_child(*static_cast<ChildPlan*>(plan)); }

/// The child's stack while it runs on the parent's memory: run_child needs
/// little, and a guard page below catches an overflow.
class ChildStack {
public:
  ChildStack() {
    void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED)
      return;
    base_ = static_cast<char*>(mem);
    ::mprotect(base_, guard, PROT_NONE);
  }
  ~ChildStack() {
    if (base_)
      ::munmap(base_, size);
  }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  explicit operator bool() const { return base_ != nullptr; }
  void* top() const { return base_ + size; } // stacks grow down on x86-64

private:
  static constexpr std::size_t size = 128 * 1024;
  static constexpr std::size_t guard = 4096;
  char* base_ = nullptr;
};

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

Result<ProcessStat> parse_process_stat(pid_t pid, std::string_view text) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  // comm (field 2) is in parentheses and may itself contain ") ".
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return Error{Errc::system, "parse " + path + ": no ')'"};
  std::istringstream fields(std::string(text.substr(close + 1)));
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

Result<ProcessStat> read_process_stat(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  if (!in)
    return not_found("process " + std::to_string(pid) + " does not exist");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return parse_process_stat(pid, text);
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
  plan.switch_user = spec.run_as.has_value();
  plan.uid = spec.run_as ? spec.run_as->uid : 0;
  plan.gid = spec.run_as ? spec.run_as->gid : 0;
  plan.max_fd =
      open_max > 0 && open_max < 65536 ? static_cast<int>(open_max) : 65536;

  // clone(CLONE_VM | CLONE_VFORK), as posix_spawn does, not fork: a fork
  // copies the helper's page tables and makes every page it writes
  // afterwards fault (copy-on-write), which cost more CPU than the rest of
  // a launch. CLONE_PIDFD hands over a pidfd for exactly this child.
  ChildStack stack;
  if (!stack)
    return system_error("mmap", "child stack", errno);
  sigset_t all, previous;
  ::sigfillset(&all);
  // No handler of the helper may run in the child on the shared memory.
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  int pidfd_raw = -1;
  pid_t pid = ::clone(child_main, stack.top(),
                      CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &plan,
                      &pidfd_raw);
  int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0)
    return system_error("clone", binary, clone_errno);
  UniqueFd pidfd(pidfd_raw);
  if (plan.failed_step >= 0) {
    reap(pid);
    return system_error(step_name(plan.failed_step), binary, plan.failed_errno);
  }
  // The child has exec'd. Its identity comes from the stat it read itself
  // just before: exact even if the VMM has already exited and been reaped.
  auto stat = parse_process_stat(pid, std::string_view(plan.stat, plan.stat_length));
  if (!stat)
    return std::move(stat).error();
  return LaunchedVmm{stat->identity, std::move(pidfd), std::move(argv)};
}

} // namespace banger::host
