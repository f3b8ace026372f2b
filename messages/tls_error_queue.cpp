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
// The same four calls carry the per-connection limits of tls_guard.hpp: a
// handshake deadline (CAF 0.17 has none) and a cap on the BASP payload a
// header may announce (SSL_read fails beyond it, and CAF drops the
// connection like any failed read).

#include "messages/tls.hpp"
#include "messages/interpose.hpp"
#include "messages/tls_guard.hpp"
#include "messages/tls_resume.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>


#include <cstdio>
#include <cstdlib>

using banger::next_definition;

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  int ret = next(ssl, buf, num);
  if (banger::tls_guard::on_foreign_thread())
    return ret;
  if (!banger::tls_guard::after_read(ssl, buf, ret)) {
    // SSL_get_error() then says SSL_ERROR_SSL and CAF drops the connection.
    ERR_raise(ERR_LIB_SSL, SSL_R_EXCESSIVE_MESSAGE_SIZE);
    return -1;
  }
  return ret;
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto next = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  if (banger::tls_guard::on_foreign_thread())
    return next(ssl);
  if (!banger::tls_guard::before_accept(ssl)) {
    // SSL_get_error() then says SSL_ERROR_SSL and CAF drops the connection.
    ERR_raise(ERR_LIB_SSL, SSL_R_READ_TIMEOUT_EXPIRED);
    return -1;
  }
  banger::tls_resume::prepare_server(ssl);
  int ret = next(ssl);
  banger::tls_guard::after_accept(ssl, ret);
  return ret;
}

int SSL_connect(SSL* ssl) {
  static auto next = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  bool foreign = banger::tls_guard::on_foreign_thread();
  if (!foreign)
    banger::tls_resume::prepare_client(ssl);
  int ret = next(ssl);
  if (!foreign)
    banger::tls_guard::after_connect(ssl, ret);
  return ret;
}

} // extern "C"

namespace banger::detail {

// Referenced from tls.cpp so the linker always pulls this object file out of
// the static library into every executable that enables TLS.
bool tls_error_queue_guard() {
  return true;
}

} // namespace banger::detail
