// Probes of every TCP port a host listens on: no port may serve a client
// that speaks plain BASP, or TLS without a certificate. A CAF middleman
// without TLS (or with automatic connections on) would open exactly such a
// port; these probes are how a test proves none exists.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace banger::test {

struct ListeningPort {
  int family = 0;      ///< AF_INET or AF_INET6
  std::string address; ///< as bound ("127.0.0.1", "0.0.0.0", "::")
  std::uint16_t port = 0;

  std::string text() const; ///< "127.0.0.1:7420", "[::]:7430"
};

/// Every TCP socket in LISTEN state in the network namespace of process
/// `pid`, from its /proc/<pid>/net/tcp and tcp6.
std::vector<ListeningPort> listening_ports(pid_t pid);

enum class ProbeVerdict {
  refused,      ///< closed on us without a byte in the clear / any application data
  served,       ///< answered: a hole
  inconclusive, ///< could not connect, or neither answered nor closed in time
};

struct ProbeOutcome {
  ProbeVerdict verdict = ProbeVerdict::inconclusive;
  std::string detail; ///< what happened, for the failure message
};

/// Connects from inside `netns_fd` (a wildcard address is reached through
/// loopback) and speaks plain BASP: first waits whether the server greets
/// in the clear (a plain BASP server sends its handshake at once), then
/// sends a client handshake header and waits for the connection to close.
ProbeOutcome probe_plain_basp(int netns_fd, const ListeningPort& port,
                              std::chrono::milliseconds bound = std::chrono::seconds(2));

/// Connects from inside `netns_fd` with TLS and no client certificate (and
/// without checking the server's), twice: TLS as negotiated, then TLS 1.2
/// with anonymous ECDH only (caf_openssl's suite when it has no
/// certificate). Refused unless application data (a BASP greeting) arrives.
ProbeOutcome probe_tls_without_certificate(int netns_fd, const ListeningPort& port,
                                           std::chrono::milliseconds bound = std::chrono::seconds(2));

std::string to_string(ProbeVerdict verdict);

} // namespace banger::test
