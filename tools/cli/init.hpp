// `banger init`: writes a complete, working installation into a home
// directory (the layout of messages/home_layout.hpp). CAF-free
// so the CLI can run it before any actor system exists.
//
// What it creates (modes in parentheses; see init_steps.hpp for the file of
// each part and why):
//
//   <home>/                    (0755 when created here; an existing one is left)
//   banger.conf                (0644) render_config(Settings)
//   state/ (0700)  state/vms/ (0700)  state/ssh/ (0700)
//   state/helper.token         (0600) 32 random bytes, 64 lowercase hex digits,
//                                     no trailing newline
//   state/ssh/id_ed25519[.pub] (0600 / 0644) banger's SSH key for guests
//   run/ (0750)  run/vms/ (0750)  images/ (0750)  logs/ (0750)
//   tls/                       (0755: CLI users must reach client.pem/ca.pem)
//   tls/ca.pem (0644)  tls/ca.key (0400)    per-home CA, EC P-256, 10 years
//   tls/{helper,daemon,client}.pem (0644)   leaves signed by the CA, 2 years
//   tls/{helper,daemon}.key (0600)
//   tls/client.key             (0640 group daemon_group when given, else 0600):
//                              whoever can read it may drive the daemon, like
//                              the docker group.
//
// A cluster host (--cluster-ca DIR --host-id ID, docs/cluster.md) gets the
// same files from the cluster CA that `banger cluster ca DIR` made instead:
// tls/ca.pem is the cluster CA's certificate, the leaves are issued by it,
// its key stays in DIR (no tls/ca.key), and one more credential is issued:
//   tls/host.pem, tls/host.key (0600 both) CN "banger-host:<ID>": what opens
//                              a host link; readable by bangerd only
// banger.conf gets cluster.host-id=ID. A later run without --cluster-ca
// keeps what is valid and cannot issue what is missing.
//
// Re-running is safe: existing keys, certificates, token and SSH key are kept
// byte-for-byte (and checked: a kept certificate must match its key and chain
// to the kept CA, or init fails and suggests --force); only `force`
// regenerates them. Everything is owned by the user running init: run it as
// the user bangerd runs as.
#pragma once

#include "messages/result.hpp"
#include "messages/settings.hpp"
#include "messages/settings_table.hpp" // apply_setting, setting_keys, render_config

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace banger {

struct InitOptions {
  std::filesystem::path home{};
  /// "firecracker" or "qemu"; empty: not given (keep / default).
  std::string vmm_kind{};
  /// Daemon port N (the helper gets N+1); 0: not given (keep / defaults).
  std::uint16_t port = 0;
  /// "KEY=VALUE" overrides by dotted key (`vmm.firecracker-bin=/x`), applied
  /// after vmm_kind and port, in order.
  std::vector<std::string> sets{};
  /// Regenerate every key, certificate, the token, the SSH key and rewrite
  /// banger.conf from defaults + these options.
  bool force = false;
  /// Group name or numeric gid that may read tls/client.key; empty: none.
  std::string daemon_group{};
  /// A cluster CA directory (`banger cluster ca`): this home's TLS files
  /// come from it, with a host credential for `host_id`. Both or neither.
  std::filesystem::path cluster_ca{};
  /// This home's cluster.host-id.
  std::string host_id{};
};

enum class InitAction {
  created,  ///< did not exist
  kept,     ///< existed, content left byte-identical (the note says if its
            ///< mode was narrowed or client.key got the daemon group)
  updated,  ///< banger.conf: existing values merged with this run's options
  replaced, ///< regenerated because of `force`
  removed,  ///< deleted: a per-home CA key in a home the cluster CA now signs for
};

std::string_view to_string(InitAction action);

struct InitEntry {
  std::string path; ///< relative to the home, e.g. "tls/ca.key"
  InitAction action = InitAction::created;
  std::string note; ///< e.g. "mode 0600", "merged --set vmm.kind"
};

struct InitReport {
  std::vector<InitEntry> entries;

  /// The settings banger.conf holds now (written, updated or kept).
  Settings settings;

  /// One line per entry: "created  tls/ca.key  (mode 0400)".
  std::string render() const;
  /// The entry for `path`, or nullptr.
  const InitEntry* find(std::string_view path) const;
};

/// What guests get from the host network: bridge and subnet, NAT (the way
/// out) and the DNS servers handed to them (`dns`, from network.dns), with
/// the keys that change them. A few lines for `banger init`'s output.
std::string render_guest_network(const Settings& settings, const std::vector<std::string>& dns);

/// Creates or completes the installation in `options.home`. Every option is
/// validated before anything is written: a refused option changes nothing.
///
/// banger.conf: written from defaults + options when missing. When it exists
/// and neither vmm_kind, port nor sets are given, it is kept untouched. When
/// it exists and some are given, its values are read back and the options
/// applied on top (other keys keep their values; comments are not preserved).
/// With `force` it is rewritten from defaults + options.
Result<InitReport> init_home(const InitOptions& options);

/// Parses the arguments of `banger init` after `--home` was taken out:
/// `--vmm KIND`, `--port N`, `--set KEY=VALUE` (repeatable), `--force`,
/// `--daemon-group GROUP`, `--cluster-ca DIR`, `--host-id ID` (those two
/// together), each also as `--flag=value`.
Result<InitOptions> parse_init_args(const std::vector<std::string>& args);

/// Reads banger.conf text of the shape render_config writes (sections,
/// `key=value`, quoted strings, `#`/`;` comments) over `base`, with the
/// settings table's validators and its rules across keys, as the daemons read it.
Result<Settings> parse_config_text(std::string_view text, Settings base = {});

} // namespace banger
