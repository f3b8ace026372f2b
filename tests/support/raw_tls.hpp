// A TLS client made with libssl directly, with a certificate of a home: it
// can send BASP bytes no CAF client would, or hold a connection open without
// ever reading or closing it.
#pragma once

#include "messages/tls.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace banger::test {

struct RawTls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;

  /// Connects and completes the handshake (blocking socket), offering
  /// `resume` (a session of an earlier connection) when given.
  RawTls(const TlsFiles& files, std::uint16_t port, SSL_SESSION* resume = nullptr) {
    ctx = SSL_CTX_new(TLS_client_method());
    REQUIRE(ctx);
    REQUIRE(SSL_CTX_use_certificate_chain_file(ctx,
                                               files.certificate.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(),
                                        SSL_FILETYPE_PEM) == 1);
    REQUIRE(SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ==
            0);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (resume)
      REQUIRE(SSL_set_session(ssl, resume) == 1);
    REQUIRE_MESSAGE(SSL_connect(ssl) == 1, "raw TLS handshake failed");
  }

  /// Whether the handshake resumed the offered session.
  bool resumed() const { return SSL_session_reused(ssl) == 1; }

  /// The session to offer next time, once a ticket for it arrived (TLS 1.3
  /// sends tickets after the handshake: read the greeting first); null if
  /// the server sent none. The caller frees it. A copy, as the CLI keeps it
  /// in a file: libssl marks a connection's own session unusable when the
  /// connection is freed without a TLS shutdown.
  SSL_SESSION* ticket() const {
    SSL_SESSION* session = SSL_get0_session(ssl);
    if (session == nullptr || !SSL_SESSION_is_resumable(session))
      return nullptr;
    unsigned char* der = nullptr;
    int len = i2d_SSL_SESSION(session, &der);
    if (len <= 0)
      return nullptr;
    const unsigned char* p = der;
    SSL_SESSION* copy = d2i_SSL_SESSION(nullptr, &p, len);
    OPENSSL_free(der);
    return copy;
  }
  ~RawTls() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  }

  /// True once the server sent application data (a CAF server greets with
  /// its BASP handshake once TLS is up on its side), within `bound`.
  bool greeted_within(std::chrono::milliseconds bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (SSL_pending(ssl) == 0 && ::poll(&pfd, 1, 50) <= 0)
        continue;
      char buf[4096];
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0)
        return true;
      if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return false;
      }
    }
    return false;
  }

  /// True once the server closed the connection (within `bound`).
  bool closed_within(std::chrono::milliseconds bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (SSL_pending(ssl) == 0 && ::poll(&pfd, 1, 50) <= 0)
        continue;
      char buf[4096];
      if (SSL_read(ssl, buf, sizeof buf) <= 0) {
        ERR_clear_error();
        return true;
      }
    }
    return false;
  }
};

} // namespace banger::test
