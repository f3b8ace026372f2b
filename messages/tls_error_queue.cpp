// Clears OpenSSL's per-thread error queue before every TLS I/O call CAF makes.
//
// Why: OpenSSL requires the calling thread's error queue to be empty before
// SSL_read/SSL_write/SSL_accept/SSL_connect, because SSL_get_error() reports
// SSL_ERROR_SSL whenever the queue holds anything. CAF 0.17.6's
// `openssl::session` never clears it, and with CAF logging compiled out (as in
// Debian's build) it never drains it either. All TLS connections of a process
// share one multiplexer thread, so one peer that goes away without a TLS
// close_notify (OpenSSL 3 queues "unexpected eof while reading") or that fails
// its handshake leaves an error behind, and the *next* read on any other,
// healthy connection is reported as a failure and CAF closes that connection.
// Seen as: the helper restarts, and the daemon drops a connected CLI/test
// client; a CLI process exits, and the daemon drops its helper link.
//
// How: the executable defines these four symbols; the dynamic linker binds
// libcaf_openssl's calls to them (an executable's definitions come first in the
// lookup order), and each one clears the queue and calls libssl's own function.
// tests/transport has the regression test ("a peer that vanishes ...").
//
// The same place bounds the server side of a TLS handshake: CAF 0.17 has no
// handshake timeout, so a TCP client that connects and never completes the
// handshake was never dropped (and kept the process from exiting). SSL_accept
// now fails once a handshake is older than handshake_deadline; CAF then
// closes the connection like any failed handshake. The start time lives in
// the SSL object's ex_data, so it goes away with the SSL object.

#include "messages/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr auto handshake_deadline = std::chrono::seconds(5);

using Clock = std::chrono::steady_clock;

void free_started(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Clock::time_point*>(ptr);
}

int started_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_started);
  return index;
}

/// True once this SSL object's handshake has taken longer than the deadline
/// (the first call starts the clock).
bool handshake_expired(SSL* ssl) {
  int index = started_index();
  if (index < 0)
    return false;
  auto* started = static_cast<Clock::time_point*>(SSL_get_ex_data(ssl, index));
  if (started == nullptr) {
    SSL_set_ex_data(ssl, index, new Clock::time_point(Clock::now()));
    return false;
  }
  return Clock::now() - *started > handshake_deadline;
}

template <class Fn>
Fn next_symbol(const char* name) {
  void* sym = ::dlsym(RTLD_NEXT, name);
  if (sym == nullptr) {
    std::fprintf(stderr, "banger: cannot find libssl's %s: %s\n", name, ::dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = next_symbol<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = next_symbol<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto next = next_symbol<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  if (handshake_expired(ssl)) {
    // SSL_get_error() then says SSL_ERROR_SSL and CAF drops the connection.
    ERR_raise(ERR_LIB_SSL, SSL_R_READ_TIMEOUT_EXPIRED);
    return -1;
  }
  return next(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto next = next_symbol<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"

namespace banger::detail {

// Referenced from tls.cpp so the linker always pulls this object file out of
// the static library into every executable that enables TLS.
bool tls_error_queue_guard() {
  return true;
}

} // namespace banger::detail
