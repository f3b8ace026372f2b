// CAF's per-TLS-call SIGPIPE guard is answered without the kernel once the
// process ignores SIGPIPE, and every other signal mask still reaches it.
#include "messages/tls_sigpipe.hpp"

#include <cerrno>
#include <ctime>
#include <doctest/doctest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// The calling thread's blocked signals as the kernel has them.
bool kernel_blocks(int sig) {
  unsigned long mask = 0;
  REQUIRE(::syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &mask,
                    sizeof mask) == 0);
  return (mask >> (sig - 1)) & 1u;
}

sigset_t only(int sig) {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, sig);
  return set;
}

} // namespace

TEST_CASE("once SIGPIPE is ignored, CAF's SIGPIPE guard around a TLS call "
          "reaches no kernel mask") {
  banger::ignore_sigpipe();
  // The guard of caf::openssl::session, call for call.
  auto pipe_only = only(SIGPIPE);
  sigset_t saved;
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &pipe_only, &saved) == 0);
  CHECK_FALSE(kernel_blocks(SIGPIPE));
  timespec zero{};
  errno = 0;
  CHECK(::sigtimedwait(&pipe_only, nullptr, &zero) == -1);
  CHECK(errno == EAGAIN);
  REQUIRE(::pthread_sigmask(SIG_SETMASK, &saved, nullptr) == 0);
  CHECK_FALSE(kernel_blocks(SIGPIPE));
  // What the guard was for still holds: a write to a closed peer fails
  // with EPIPE and the process lives on.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  errno = 0;
  CHECK(::write(fds[1], "x", 1) == -1);
  CHECK(errno == EPIPE);
  ::close(fds[1]);
}

TEST_CASE("masks of other signals still reach the kernel") {
  banger::ignore_sigpipe();
  auto usr1 = only(SIGUSR1);
  sigset_t saved;
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &usr1, &saved) == 0);
  CHECK(kernel_blocks(SIGUSR1));
  REQUIRE(::pthread_sigmask(SIG_SETMASK, &saved, nullptr) == 0);
  CHECK_FALSE(kernel_blocks(SIGUSR1));
  // Blocking SIGPIPE together with another signal is not CAF's guard.
  sigset_t both = only(SIGUSR1);
  ::sigaddset(&both, SIGPIPE);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &both, &saved) == 0);
  CHECK(kernel_blocks(SIGPIPE));
  CHECK(kernel_blocks(SIGUSR1));
  REQUIRE(::pthread_sigmask(SIG_SETMASK, &saved, nullptr) == 0);
  CHECK_FALSE(kernel_blocks(SIGPIPE));
}
