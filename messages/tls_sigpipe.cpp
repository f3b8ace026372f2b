// The executable's own pthread_sigmask and sigtimedwait (see tls_sigpipe.hpp):
// the dynamic linker binds libcaf_openssl's calls to these, as it does for the
// SSL_* interposers of tls_error_queue.cpp. Only the exact calls of CAF's
// guard are answered here, and only once SIGPIPE is ignored; every other call
// goes to libc unchanged.
#include "messages/tls_sigpipe.hpp"
#include "messages/interpose.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <pthread.h>
#include <signal.h>

using banger::next_definition;

namespace {

std::atomic<bool> sigpipe_ignored{false};

bool only_sigpipe(const sigset_t* set) {
  for (int sig = 1; sig < NSIG; ++sig)
    if (::sigismember(set, sig) == 1 && sig != SIGPIPE)
      return false;
  return ::sigismember(set, SIGPIPE) == 1;
}

// What the elided SIG_BLOCK hands back as the "saved" mask: SIGKILL and
// SIGSTOP can never be blocked, so no mask read from the kernel holds them
// and the matching SIG_SETMASK is recognised without any doubt.
void mark(sigset_t* set) {
  ::sigemptyset(set);
  ::sigaddset(set, SIGKILL);
  ::sigaddset(set, SIGSTOP);
}

bool is_mark(const sigset_t* set) {
  return ::sigismember(set, SIGKILL) == 1 && ::sigismember(set, SIGSTOP) == 1;
}

} // namespace

namespace banger {

void ignore_sigpipe() {
  ::signal(SIGPIPE, SIG_IGN);
  sigpipe_ignored.store(true, std::memory_order_release);
}

} // namespace banger

extern "C" {

int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  static auto next =
      next_definition<int (*)(int, const sigset_t*, sigset_t*)>("pthread_sigmask");
  if (sigpipe_ignored.load(std::memory_order_acquire) && set != nullptr) {
    if (how == SIG_BLOCK && old != nullptr && only_sigpipe(set)) {
      mark(old);
      return 0;
    }
    if (how == SIG_SETMASK && old == nullptr && is_mark(set))
      return 0;
  }
  return next(how, set, old);
}

int sigtimedwait(const sigset_t* set, siginfo_t* info,
                 const struct timespec* timeout) {
  static auto next =
      next_definition<int (*)(const sigset_t*, siginfo_t*, const struct timespec*)>(
          "sigtimedwait");
  if (sigpipe_ignored.load(std::memory_order_acquire) && timeout != nullptr &&
      timeout->tv_sec == 0 && timeout->tv_nsec == 0 && only_sigpipe(set)) {
    errno = EAGAIN; // nothing can be pending: an ignored signal is discarded
    return -1;
  }
  return next(set, info, timeout);
}

} // extern "C"
