// TLS 1.3 session resumption for the CLI's connections to bangerd.
//
// A CLI call is one short connection, and a full mutual-TLS handshake is
// most of what it waits for once the process has started: both sides parse
// and verify the other's certificate (in OpenSSL 3 decoding a certificate's
// key alone is a large share of a daemon's CPU per call) and sign their part
// of the handshake (BENCHMARKS.md, "CLI start-up"). With a ticket from the
// previous call the handshake is a key exchange only.
//
// Server side (every CAF TLS server: bangerd, banger-helper): each accepted
// connection gets the process's ticket keys, made at random when the first
// connection is accepted and kept in memory only, and one ticket. CAF builds
// a new SSL_CTX for every connection, and OpenSSL's own ticket keys are per
// context, so without this no ticket could ever be used again. A ticket can
// only be used with the process that issued it (a restarted daemon makes new
// keys, and the client falls back to a full handshake at once), only
// within `ticket_lifetime`, and only by a client that completed a full
// mutual-TLS handshake with a certificate of the CA: it stands for that
// handshake, for an hour at most.
//
// Client side (only where enabled: the CLI): the ticket is kept in a file
// of its own, readable by its user only, in banger/tls/ under
// $XDG_RUNTIME_DIR, else $XDG_CACHE_HOME, else ~/.cache: one per identity
// and daemon address, pruned when past its lifetime. A file that is
// missing, unreadable or stale costs nothing but the full handshake.
// BANGER_TLS_RESUME=0 turns it off.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <string>

namespace banger::tls_resume {

inline constexpr std::chrono::seconds ticket_lifetime{3600};

/// Called by the SSL_accept interposer before a server's first handshake
/// step on a connection (tls_error_queue.cpp).
void prepare_server(SSL* ssl);

/// The client's ticket file for `key` (a home and a daemon address), or ""
/// when there is no place for one or BANGER_TLS_RESUME=0.
std::string client_ticket_path(const std::string& key);

/// From now on this process offers the ticket in `path` on its TLS
/// connections and keeps the newest one there. "" turns it off.
void enable_client(const std::string& path);

/// Called by the SSL_connect interposer before every handshake step.
void prepare_client(SSL* ssl);

/// Whether `ssl`'s handshake resumed a session (for tests and the bench).
bool resumed(const SSL* ssl);

} // namespace banger::tls_resume
