// Test fixtures shared by tests/security and tests/privileged: temporary
// homes, unique names and child processes (temporary directories and
// bounded polling are tests/support/process.hpp's). Everything that
// creates something on the host removes it in a destructor, so a failing
// CHECK never leaks a device, mount or process into the next run.
#pragma once

#include "messages/home_layout.hpp"
#include "privileged/host/paths.hpp"
#include "tests/support/process.hpp"
#include "tests/support/skip.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace banger::host_test {

/// The test process's own user and group: an owner any test may give files.
inline host::Ownership self_owner() {
  return {::geteuid(), ::getegid()};
}

inline std::string random_hex(std::size_t digits) {
  std::string out;
  while (out.size() < digits) {
    unsigned char byte = 0;
    while (::getrandom(&byte, 1, 0) != 1) {
    }
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", byte);
    out += buf;
  }
  out.resize(digits);
  return out;
}

inline std::string random_vm_id() {
  return random_hex(16);
}

/// The installation id test taps are marked with (host::TapScope).
inline constexpr const char* test_installation = "7e57000000000001";

/// Makes persistent tap `name` the way anyone with CAP_NET_ADMIN can: no
/// alias, no bridge. Returns whether it worked.
inline bool make_tap_device(const std::string& name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  bool ok = ::ioctl(fd, TUNSETIFF, &ifr) == 0 && ::ioctl(fd, TUNSETPERSIST, 1UL) == 0;
  ::close(fd);
  return ok;
}

/// Removes persistent tap `name` whoever made it (test clean-up only).
inline void remove_tap_device(const std::string& name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(fd, TUNSETIFF, &ifr) == 0)
    ::ioctl(fd, TUNSETPERSIST, 0UL);
  ::close(fd);
}

/// A banger home with state/, run/ and images/.
class TestHome {
public:
  TestHome() : layout_(std::filesystem::path(dir_.path()) / "home") {
    std::filesystem::create_directories(layout_.state_dir());
    std::filesystem::create_directories(layout_.run_dir());
    std::filesystem::create_directories(layout_.images_dir());
  }
  const HomeLayout& layout() const { return layout_; }
  /// A directory next to the home: "outside" for escape tests.
  std::filesystem::path outside() const { return std::filesystem::path(dir_.path()) / "outside"; }
  std::filesystem::path base() const { return dir_.path(); }

private:
  test::TempDir dir_;
  HomeLayout layout_;
};

inline void write_file(const std::filesystem::path& path,
                       const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

/// The files validate_launch checks for every VMM of `vm_id`, unless they
/// exist already: a kernel images/vmlinux and the VM's rootfs.img. Returns
/// the kernel as a launch request names it.
inline std::string write_vm_files(const HomeLayout& layout,
                                  const std::string& vm_id) {
  auto kernel = layout.images_dir() / "vmlinux";
  if (!std::filesystem::exists(kernel))
    write_file(kernel, "kernel");
  std::filesystem::create_directories(layout.vm_dir(vm_id));
  if (!std::filesystem::exists(layout.vm_rootfs(vm_id)))
    write_file(layout.vm_rootfs(vm_id), std::string(4096, '\0'));
  return "vmlinux";
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

/// Whether two files have the same bytes (read in 1 MiB chunks: images are
/// large and sanitizer builds are slow).
inline bool files_equal(const std::filesystem::path& a,
                        const std::filesystem::path& b) {
  std::ifstream in_a(a, std::ios::binary);
  std::ifstream in_b(b, std::ios::binary);
  if (!in_a || !in_b)
    return false;
  std::vector<char> buf_a(1 << 20);
  std::vector<char> buf_b(1 << 20);
  while (true) {
    in_a.read(buf_a.data(), static_cast<std::streamsize>(buf_a.size()));
    in_b.read(buf_b.data(), static_cast<std::streamsize>(buf_b.size()));
    if (in_a.gcount() != in_b.gcount() ||
        !std::equal(buf_a.begin(), buf_a.begin() + in_a.gcount(),
                    buf_b.begin()))
      return false;
    if (in_a.gcount() == 0)
      return true;
  }
}

/// Absolute path of `name` found on PATH; empty if absent.
inline std::filesystem::path find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin:/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    std::filesystem::path candidate =
        std::filesystem::path(dirs.substr(start, end - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return {};
}

/// Runs a program to completion (tests only: mkfs, mount). Returns its exit
/// status, or -1.
inline int run_program(const std::vector<std::string>& argv) {
  std::vector<char*> ptrs;
  for (const auto& arg : argv)
    ptrs.push_back(const_cast<char*>(arg.c_str()));
  ptrs.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::execvp(ptrs[0], ptrs.data());
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// State letter of /proc/<pid>/stat, or 0 if the process does not exist.
inline char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size())
    return 0;
  return text[close + 2];
}

/// Alive and not a zombie.
inline bool process_running(pid_t pid) {
  char state = process_state(pid);
  return state != 0 && state != 'Z' && state != 'X';
}

/// A child of the test process (not a VMM): killed and reaped at the end.
class ChildProcess {
public:
  explicit ChildProcess(const std::vector<std::string>& argv) {
    std::vector<char*> ptrs;
    for (const auto& arg : argv)
      ptrs.push_back(const_cast<char*>(arg.c_str()));
    ptrs.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
      ::execv(ptrs[0], ptrs.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() { kill_and_reap(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void kill_and_reap() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

private:
  pid_t pid_ = -1;
};

/// A process the test did not fork (a VMM launched by the helper code):
/// SIGKILLed and reaped at the end if still there.
class ProcessGuard {
public:
  explicit ProcessGuard(pid_t pid = -1) : pid_(pid) {}
  ~ProcessGuard() { reset(); }
  ProcessGuard(const ProcessGuard&) = delete;
  ProcessGuard& operator=(const ProcessGuard&) = delete;
  void reset(pid_t pid = -1) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = pid;
  }
  /// Waits for the process to exit and reaps it; returns the wait status or
  /// -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    int status = -1;
    bool done = test::eventually(
        [&] {
          int s = 0;
          pid_t r = ::waitpid(pid_, &s, WNOHANG);
          if (r == pid_)
            status = s;
          return r == pid_ || r < 0;
        },
        timeout);
    if (done)
      pid_ = -1;
    return done ? status : -1;
  }
  pid_t pid() const { return pid_; }

private:
  pid_t pid_;
};

inline bool link_exists(const std::string& name) {
  return ::if_nametoindex(name.c_str()) != 0;
}

} // namespace banger::host_test
