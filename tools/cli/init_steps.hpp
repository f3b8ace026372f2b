// What the parts of `banger init` share (internal to banger_init): the
// context of one run, the file primitives every part writes with, and one
// step per job. Each step is in its own file:
//
//   init_settings.cpp  --vmm/--port/--set, init's banger.conf reader, banger.conf
//   init_files.cpp     directories, atomic writes, kept files
//   init_tls.cpp       tls/: the home's CA and leaves (through pki/)
//   init_cluster_tls.cpp  tls/ of a cluster host: leaves and host credential
//                      from the cluster CA
//   cluster_ca.cpp     `banger cluster ca`: the cluster CA itself
//   init_token.cpp     state/helper.token
//   init_ssh.cpp       state/ssh/: banger's SSH key (ssh-keygen, or the
//                      cluster's)
//   init.cpp           init_home, which runs them in order, and the report
#pragma once

#include "messages/home_layout.hpp"
#include "pki/pki.hpp"
#include "tools/cli/init.hpp"

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace banger::init {

namespace fs = std::filesystem;

/// "No group change" for fchown and the like.
inline constexpr gid_t no_group = static_cast<gid_t>(-1);

inline Error invalid(std::string message) {
  return Error{Errc::invalid_argument, std::move(message)};
}

/// The home, what init writes there and how, and what it did so far.
struct Context {
  explicit Context(fs::path home) : layout(std::move(home)) {}

  HomeLayout layout;
  bool force = false;
  gid_t client_group = no_group; ///< -1: no daemon group
  std::string client_group_name;
  /// cluster.host-id of the home after this run; empty: not a cluster host.
  std::string host_id;
  /// The cluster CA (--cluster-ca) and where it came from; without it a
  /// cluster host's home can keep its files but issue none.
  std::optional<pki::Authority> cluster_ca;
  fs::path cluster_ca_dir;
  /// The cluster's SSH key pair from cluster_ca_dir (OpenSSH text); empty
  /// without --cluster-ca.
  std::string cluster_ssh_key;
  std::string cluster_ssh_pub;
  InitReport report;

  std::string relative(const fs::path& path) const {
    return path.lexically_relative(layout.home()).string();
  }
  void record(const fs::path& path, InitAction action, std::string note) {
    report.entries.push_back({relative(path), action, std::move(note)});
  }
};

// -- files (init_files.cpp) ----------------------------------------------------

/// `bytes` random bytes as lowercase hex.
Result<std::string> random_hex(std::size_t bytes);
/// "0644"
std::string octal(mode_t mode);
bool exists_no_follow(const fs::path& path);
/// replaced when `force` overwrites an existing file, else created.
InitAction fresh(const Context& ctx, const fs::path& path);

/// Creates `path` with `mode`; an existing one must be a real directory owned
/// by this user and loses any permission bit beyond `mode`.
Status ensure_dir(Context& ctx, const fs::path& path, mode_t mode);

/// Writes `path` atomically with `mode` (and `group`) set before the first
/// byte: a temporary file filled by `fill`, fsynced, renamed, directory fsynced.
Status write_atomic(const fs::path& path, mode_t mode, gid_t group,
                    const std::function<Status(int fd)>& fill);
Status write_atomic(const fs::path& path, mode_t mode, gid_t group, const void* data,
                    std::size_t size);

/// A file init keeps: a regular file owned by this user. Bits beyond
/// `narrow_to` are removed (content untouched); with `group` the file gets
/// that group and exactly `group_mode`.
Status keep_file(Context& ctx, const fs::path& path, mode_t narrow_to, gid_t group = no_group,
                 mode_t group_mode = 0);

/// A file of at most 1 MiB, not through a symlink.
Result<std::string> read_small_file(const fs::path& path);

Status fsync_path(const fs::path& path, bool directory);

// -- steps ------------------------------------------------------------------------

/// --vmm, --port and --set applied to `settings`, then the cross-key rules.
Status apply_options(Settings& settings, const InitOptions& options);
/// True when the run names any setting (so an existing banger.conf is merged).
bool has_setting_options(const InitOptions& options);
Status init_config(Context& ctx, const InitOptions& options, const Settings& settings,
                   const std::optional<std::string>& existing);
/// Cluster host or not, from `host_id`, and the checks of --cluster-ca that
/// must pass before anything is written.
Status prepare_cluster(Context& ctx, const InitOptions& options, const std::string& host_id);
Status init_tls(Context& ctx);
/// init_tls for a cluster host (init_cluster_tls.cpp).
Status init_cluster_tls(Context& ctx);
Status init_token(Context& ctx);
/// state/ssh/id_ed25519: kept, made, or on a cluster host the cluster's.
Status init_ssh(Context& ctx);
/// A fresh ed25519 key pair as `dir`/id_ed25519 and .pub (ssh-keygen).
Status make_ssh_key(Context& ctx, const fs::path& dir, const std::string& comment);

} // namespace banger::init
