// Per-connection limits for every TLS connection CAF makes in this process;
// the SSL_* interposers in tls_error_queue.cpp call these hooks, and
// tls_guard.cpp interposes listen(2) and accept(2) for CAF's acceptors.
//
// What is bounded, and why (CAF 0.17.6 has none of it):
// - Idle connections never reach CAF: listeners get TCP_DEFER_ACCEPT, so the
//   kernel hands a connection to accept() only once its first bytes arrived;
//   one that stayed silent for `defer_accept` is closed at accept, before CAF
//   creates a TLS context for it (which costs a file read and key parse).
// - Handshakes in progress are bounded. A connection whose whole first TLS
//   record (the ClientHello) is there at accept, as with every real client on
//   loopback, is admitted up to `max_handshakes`, replacing the oldest slow or
//   old handshake when full (one that has had `min_handshake_age`; a real
//   handshake on loopback takes a few ms). A "slow" one, with only part of
//   its ClientHello, is admitted up to a small bound per peer address and in
//   total, and refused beyond. TLS server connections in total are bounded.
// - While a server handshake waits for the peer, CAF 0.17.6's multiplexer
//   would poll the socket for writability in a loop (its BASP greeting is
//   queued before TLS is up); tls_poll_guard.cpp keeps that interest off.
// - A handshake older than `handshake_deadline` is cut off by a watchdog
//   thread (shutdown(2) of the socket; CAF sees EOF and cleans up; CAF owns
//   the descriptor, so it is never closed here).
// - A BASP header announcing more than basp_payload_cap drops the connection,
//   and so does one that takes the payload announced by all connections
//   together over basp_announced_budget (basp_meter.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <openssl/ssl.h>

namespace banger::tls_guard {

constexpr auto defer_accept = std::chrono::seconds(1);
constexpr auto handshake_deadline = std::chrono::milliseconds(1500);
constexpr auto min_handshake_age = std::chrono::milliseconds(100);
constexpr std::size_t max_handshakes = 64;
constexpr std::size_t max_slow_handshakes_per_peer = 4;
constexpr std::size_t max_slow_handshakes = 16;
constexpr std::size_t max_server_connections = 1024;

/// Before libssl's SSL_accept: false if the handshake must fail now (its
/// deadline passed or the guard cut it off).
/// Marks the calling thread as another server's, not CAF's (the HTTP API's
/// threads, api/http_server.cpp): the hooks below and in tls_error_queue.cpp
/// leave its sockets and TLS sessions alone, since their bytes are not
/// BASP and their limits are that server's own. `admit`, when set, is what
/// accept() on this thread asks instead (false: the connection is closed
/// and the next one taken).
void foreign_thread(bool (*admit)(int fd) = nullptr);
bool on_foreign_thread();

bool before_accept(SSL* ssl);
/// After libssl's SSL_accept returned `ret`.
void after_accept(SSL* ssl, int ret);
/// After libssl's SSL_connect returned `ret`. A client handshake has the
/// same busy loop as a server one (CAF queues the BASP greeting before TLS
/// is up): while it waits to read, writability interest is kept off too.
void after_connect(SSL* ssl, int ret);
/// tls_poll_guard.cpp: whether the server or client handshake on `fd` waits to read
/// (CAF's interest in writability is kept off meanwhile), and that the
/// connection is gone.
void handshake_waits(int fd, bool waiting);
void handshake_gone(int fd);
/// After libssl's SSL_read returned `ret` bytes into `buf`: false if the
/// stream broke a limit; the caller then fails the read.
bool after_read(SSL* ssl, const void* buf, int ret);

} // namespace banger::tls_guard
