// Mutual TLS for every CAF port banger opens (docs/architecture.md, "Processes"
// and "Findings about CAF 0.17.6").
//
// `banger init` creates a per-home CA and one certificate + key per role in
// <home>/tls/. A process picks its role's files before it creates its actor
// system; from then on both directions of every connection require a
// certificate signed by that CA (CAF checks no hostname: "signed by our CA" is
// the whole identity, so use one CA per trust domain).
//
// Server side (daemon, helper):
//
//   banger::Config cfg;
//   if (auto st = cfg.read(home, args); !st) ...      // read() first: see below
//   if (auto st = banger::enable_tls(cfg, banger::HomeLayout{home},
//                                    banger::TlsRole::daemon); !st) ...
//   caf::actor_system sys{cfg};
//   auto port = caf::openssl::publish(control, cfg.settings.daemon_port,
//                                     cfg.settings.daemon_listen.c_str());
//
// Client side (CLI, daemon -> helper):
//
//   enable_tls(cfg, home, TlsRole::client)   // or enable_tls_files(cfg, ...)
//   caf::actor_system sys{cfg};
//   auto ctl = caf::openssl::remote_actor<banger::control_actor>(
//     sys, "127.0.0.1", cfg.settings.daemon_port);
//
// Rules that keep it secure:
// - Publish and connect only through caf::openssl::{publish,remote_actor}.
//   TLS and plain BASP share one broker per process: one plain
//   `sys.middleman().publish(...)` in a TLS process opens a port where any
//   local user reaches every actor and CAF's system actors without a
//   certificate. Never use sys.middleman().publish/remote_actor in banger.
// - Always pass the address ("127.0.0.1"); without one CAF binds every
//   interface.
// - Call enable_tls after Config::read: an `openssl.*` key in banger.conf or on
//   the command line would otherwise replace the role's files.
// - CAF loads these files for every new connection (tls_credentials.hpp
//   parses each once while it stays the same file) and throws (terminating
//   the process) if they became unreadable in the meantime; that is why
//   enable_tls checks them up front and stores absolute paths.
// - CAF 0.17 has no TLS handshake timeout, no bound on connections and none
//   on the BASP payload a peer may announce; tls_guard.hpp adds all three for
//   every process that links this library. Keep ports on loopback anyway.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace banger {

class Config;

/// Which certificate of a home a process presents.
enum class TlsRole {
  helper, ///< banger-helper (server for the daemon)
  daemon, ///< bangerd (server for clients, client of the helper)
  client, ///< banger CLI, banger-load (readable by the daemon group)
};

inline std::string_view to_string(TlsRole role) {
  switch (role) {
    case TlsRole::helper:
      return "helper";
    case TlsRole::daemon:
      return "daemon";
    case TlsRole::client:
      return "client";
  }
  return "unknown";
}

/// The three files a process needs to speak mutual TLS.
struct TlsFiles {
  std::filesystem::path certificate; ///< PEM leaf (optionally + chain)
  std::filesystem::path key;         ///< PEM private key, unencrypted
  std::filesystem::path ca;          ///< PEM CA certificate(s) peers must chain to
};

/// <home>/tls/<role>.pem, <role>.key and ca.pem, as `banger init` writes them.
inline TlsFiles tls_files(const HomeLayout& home, TlsRole role) {
  auto dir = home.tls_dir();
  auto name = std::string(to_string(role));
  return {dir / (name + ".pem"), dir / (name + ".key"), dir / "ca.pem"};
}

/// The CA's private key; only `banger init` uses it.
inline std::filesystem::path tls_ca_key(const HomeLayout& home) {
  return home.tls_dir() / "ca.key";
}

/// Checks that the files exist, are readable by this process, parse, that the
/// key belongs to the certificate, and that the certificate chains to the CA
/// for both TLS client and server use and is within its validity period.
/// Errors: invalid_argument (missing file, not PEM), unauthenticated (no
/// permission to read, key mismatch, not issued by the CA, expired). `hint`
/// is appended to messages about missing files (e.g. "run `banger init`").
Status check_tls_files(const TlsFiles& files, std::string_view hint = {});

/// Loads CAF's OpenSSL module into `cfg` and points it at `role`'s files in
/// `home`, after check_tls_files. Call once per Config, after Config::read,
/// before creating the actor system. On error `cfg` is unchanged.
Status enable_tls(Config& cfg, const HomeLayout& home, TlsRole role);

/// The hint enable_tls gives about a missing file of `home`.
std::string tls_files_hint(const HomeLayout& home);
/// The hint enable_tls_files gives.
inline constexpr std::string_view tls_explicit_files_hint = "`banger init` creates it in <home>/tls/";

/// enable_tls in its steps, for a client that runs check_tls_files (most of
/// it OpenSSL's start-up and the files' parse) on a thread of its own while
/// it reads its configuration and starts its actor system: the files made
/// absolute (CAF opens them again, possibly after a chdir), then `cfg`
/// pointed at them. Connect only after the check passed.
Result<TlsFiles> absolute_tls_files(const TlsFiles& files);
Status point_tls_at(Config& cfg, const TlsFiles& absolute);

/// Same with explicit files (the CLI's `--daemon HOST:PORT --cert --key --ca`).
Status enable_tls_files(Config& cfg, const std::filesystem::path& certificate,
                        const std::filesystem::path& key,
                        const std::filesystem::path& ca);

} // namespace banger
