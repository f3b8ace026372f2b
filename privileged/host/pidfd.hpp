// pidfd system calls. Debian 12's <sys/pidfd.h> (glibc 2.36) declares its
// wrappers without extern "C", so C++ cannot link them; call the kernel.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace banger::host {

inline int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0U));
}

inline int send_signal_through_pidfd(int pidfd, int signo) {
  return static_cast<int>(
      ::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0U));
}

} // namespace banger::host
