#include "tests/cluster/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace banger::test {

namespace {

[[noreturn]] void fail(const char* call) {
  throw std::system_error(errno, std::generic_category(), call);
}

/// Entries of a /proc directory that are numbers (pids, tids, fds).
std::vector<std::string> numeric_entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d)
    return out;
  while (auto* entry = ::readdir(d))
    if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9')
      out.emplace_back(entry->d_name);
  ::closedir(d);
  return out;
}

std::string link_target(const std::string& path) {
  char buf[256];
  auto n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string comm_of(const std::string& pid) {
  int fd = ::open(("/proc/" + pid + "/comm").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "?";
  char buf[64];
  auto n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  std::string out = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "?";
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

} // namespace

Namespace::Namespace(int fd) : fd_(fd) {
  identity_ = link_target("/proc/self/fd/" + std::to_string(fd));
}

Namespace Namespace::network() {
  int fd = -1;
  int error = 0;
  // unshare moves only the calling thread: a thread of its own does it, and
  // the descriptor it opens is what keeps the namespace once it has exited.
  std::thread maker([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      error = errno;
  });
  maker.join();
  if (error != 0)
    throw std::system_error(error, std::generic_category(), "unshare(CLONE_NEWNET)");
  return Namespace(fd);
}

Namespace Namespace::mounts_for(const Namespace& network) {
  // A thread cannot unshare its mounts (it shares them with the process),
  // so a child makes the namespace, and lives until the parent has opened it.
  int report[2], release[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    fail("pipe2");
  if (::pipe2(release, O_CLOEXEC) != 0) {
    ::close(report[0]);
    ::close(report[1]);
    fail("pipe2");
  }
  pid_t pid = ::fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    ::close(report[0]);
    ::close(release[1]); // or its own copy keeps the read below from ending
    // Order matters: slave propagation before the unmount, or unmounting
    // /sys here would unmount it for everyone sharing the mount.
    int step = 0;
    if (::setns(network.fd(), CLONE_NEWNET) != 0)
      step = 1;
    else if (::unshare(CLONE_NEWNS) != 0)
      step = 2;
    else if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
      step = 3;
    else if (::umount2("/sys", MNT_DETACH) != 0 && errno != EINVAL)
      step = 4;
    else if (::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      step = 5;
    int answer[2] = {step, step ? errno : 0};
    [[maybe_unused]] auto w = ::write(report[1], answer, sizeof answer);
    char byte;
    [[maybe_unused]] auto r = ::read(release[0], &byte, 1);
    ::_exit(0);
  }
  ::close(report[1]);
  ::close(release[0]);
  int answer[2] = {-1, 0};
  auto got = ::read(report[0], answer, sizeof answer);
  int fd = -1;
  if (got == static_cast<ssize_t>(sizeof answer) && answer[0] == 0)
    fd = ::open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
  int open_errno = errno;
  ::close(report[0]);
  ::close(release[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  static const char* const steps[] = {"",        "setns(CLONE_NEWNET)", "unshare(CLONE_NEWNS)",
                                      "mount(/, MS_SLAVE)", "umount2(/sys)", "mount(sysfs)"};
  if (got != static_cast<ssize_t>(sizeof answer))
    throw std::runtime_error("the child making a mount namespace died");
  if (answer[0] != 0)
    throw std::system_error(answer[1], std::generic_category(), steps[answer[0]]);
  if (fd < 0)
    throw std::system_error(open_errno, std::generic_category(), "open(/proc/<pid>/ns/mnt)");
  return Namespace(fd);
}

Namespace::Namespace(Namespace&& other) noexcept { *this = std::move(other); }

Namespace& Namespace::operator=(Namespace&& other) noexcept {
  std::swap(fd_, other.fd_);
  std::swap(identity_, other.identity_);
  return *this;
}

Namespace::~Namespace() {
  if (fd_ >= 0)
    ::close(fd_);
}

void inside(int netns_fd, const std::function<void()>& work) {
  std::exception_ptr error;
  std::thread worker([&] {
    try {
      if (::setns(netns_fd, CLONE_NEWNET) != 0)
        fail("setns(CLONE_NEWNET)");
      work();
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error)
    std::rethrow_exception(error);
}

int socket_in(int netns_fd, int domain, int type) {
  int fd = -1;
  inside(netns_fd, [&] {
    fd = ::socket(domain, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
      fail("socket");
  });
  return fd;
}

pid_t spawn_in(Place place, const std::vector<std::string>& argv,
               const std::vector<std::string>& extra_env, int stdout_fd, int stderr_fd) {
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e)
    env_storage.emplace_back(*e);
  env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> env;
  for (auto& e : env_storage)
    env.push_back(e.data());
  env.push_back(nullptr);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0)
    fail("open(/dev/null)");
  // setns into a mount namespace moves to its root: come back to where
  // the caller is.
  char cwd[4096];
  if (!::getcwd(cwd, sizeof cwd))
    std::strcpy(cwd, "/");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(devnull);
    fail("fork");
  }
  if (pid == 0) {
    if (place.net >= 0 && ::setns(place.net, CLONE_NEWNET) != 0)
      ::_exit(126);
    if (place.mnt >= 0 && (::setns(place.mnt, CLONE_NEWNS) != 0 || ::chdir(cwd) != 0))
      ::_exit(126);
    // Dies with the test; checked after, in case the parent died before.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(126);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(stdout_fd, STDOUT_FILENO);
    ::dup2(stderr_fd, STDERR_FILENO);
    ::execve(args[0], args.data(), env.data());
    ::_exit(127);
  }
  ::close(devnull);
  return pid;
}

RunOutput run_in(Place place, const std::vector<std::string>& argv,
                 const std::vector<std::string>& extra_env, std::chrono::milliseconds deadline) {
  RunOutput result;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    fail("pipe2");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    fail("pipe2");
  }
  pid_t pid = -1;
  try {
    pid = spawn_in(place, argv, extra_env, out[1], err[1]);
  } catch (...) {
    for (int fd : {out[0], out[1], err[0], err[1]})
      ::close(fd);
    throw;
  }
  ::close(out[1]);
  ::close(err[1]);
  auto until = std::chrono::steady_clock::now() + deadline;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[4096];
      auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0)
      ::close(f.fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!killed && WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  return result;
}

std::vector<Holder> holders_of(const std::vector<std::string>& identities) {
  auto ours = [&](const std::string& target) {
    return std::find(identities.begin(), identities.end(), target) != identities.end();
  };
  std::vector<Holder> out;
  for (const auto& pid : numeric_entries("/proc")) {
    auto base = "/proc/" + pid;
    auto number = static_cast<pid_t>(std::stol(pid));
    // Threads may sit in other namespaces than their process's main thread.
    for (const auto& tid : numeric_entries(base + "/task"))
      for (const char* kind : {"net", "mnt"})
        if (auto target = link_target(base + "/task/" + tid + "/ns/" + kind); ours(target))
          out.push_back({number, "task " + tid + " of process " + pid + " (" + comm_of(pid)
                                   + ") is in " + target});
    for (const auto& fd : numeric_entries(base + "/fd"))
      if (auto target = link_target(base + "/fd/" + fd); ours(target))
        out.push_back({number, "descriptor " + fd + " of process " + pid + " (" + comm_of(pid)
                                 + ") holds " + target});
  }
  return out;
}

std::string command_line(pid_t pid) {
  // read(2), not a stream: a process that exits meanwhile fails the read.
  std::string out;
  int fd = ::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  std::replace(out.begin(), out.end(), '\0', ' ');
  return out;
}

std::vector<pid_t> processes_naming(const std::string& text) {
  std::vector<pid_t> out;
  for (const auto& pid : numeric_entries("/proc")) {
    auto number = static_cast<pid_t>(std::stol(pid));
    if (command_line(number).find(text) != std::string::npos)
      out.push_back(number);
  }
  return out;
}

std::vector<pid_t> processes_in(const std::vector<std::string>& identities) {
  std::vector<pid_t> out;
  for (const auto& pid : numeric_entries("/proc")) {
    auto target = link_target("/proc/" + pid + "/ns/net");
    if (std::find(identities.begin(), identities.end(), target) != identities.end())
      out.push_back(static_cast<pid_t>(std::stol(pid)));
  }
  return out;
}

} // namespace banger::test
