// The parts of init's tls/ step that a per-home CA and a cluster host share
// (internal to banger_init): reading and writing PEM files, and one leaf
// (key + certificate) kept, checked or issued.
#pragma once

#include "tools/cli/init_steps.hpp"

#include "messages/openssl_ptr.hpp"

#include <string>
#include <vector>

namespace banger::init {

/// One key and the certificate the CA issues for it.
struct Leaf {
  std::string name;        ///< "daemon": the files are tls/<name>.pem and .key
  std::string common_name; ///< "banger-daemon"
  mode_t certificate_mode = 0644;
  mode_t key_mode = 0600;
  gid_t key_group = no_group;
  mode_t key_narrow = 0600; ///< mask applied to a kept key
  /// A kept certificate must name `common_name` (a host credential for
  /// another host id is not this host's).
  bool check_name = false;
};

/// The helper, daemon and client leaves of `ctx`'s home.
std::vector<Leaf> leaves(const Context& ctx);
/// tls/host.pem and tls/host.key for ctx.host_id.
Leaf host_leaf(const Context& ctx);

fs::path certificate_path(const Context& ctx, const Leaf& leaf);
fs::path key_path(const Context& ctx, const Leaf& leaf);

/// What to run to start the TLS files over: with --cluster-ca in a cluster
/// host's home.
std::string regenerate_hint(const Context& ctx);

Result<ssl::X509Ptr> load_certificate(const Context& ctx, const fs::path& path);
Result<ssl::PKeyPtr> load_key(const Context& ctx, const fs::path& path);
Status write_certificate(const fs::path& path, X509* cert, mode_t mode);
Status write_key(const fs::path& path, EVP_PKEY* key, mode_t mode, gid_t group);

/// Certifies `key` (written first when `new_key`) under the CA.
Status issue_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key, EVP_PKEY* key,
                  bool new_key);
/// A fresh key and its certificate.
Status issue_new_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key);
/// A kept leaf: its key is kept (or made), its certificate checked against
/// the CA or, when missing, issued by it. A null `ca_key` can issue
/// nothing: a missing certificate is an error naming `missing_key`.
Status keep_or_issue_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key,
                          const std::string& missing_key);

} // namespace banger::init
