#include "tools/guest-agent/children.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace banger::guest {

Children::Children() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  fd_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) {
    std::perror("banger-guest-agent: signalfd");
    std::exit(1);
  }
}

void Children::reap(const std::function<void(pid_t, int)>& ended) {
  signalfd_siginfo info;
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
    continue;
  // SIGCHLDs coalesce: one reading may stand for several exits, so every
  // ended child is collected, not one per signal.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0)
      return;
    ended(pid, status);
  }
}

} // namespace banger::guest
