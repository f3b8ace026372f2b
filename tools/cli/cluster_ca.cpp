// `banger cluster ca`: the cluster CA and the cluster's SSH key, with init's
// file primitives (atomic writes with the mode set before the first byte, no
// symlinks followed).
#include "tools/cli/cluster_ca.hpp"
#include "tools/cli/init_tls.hpp"

#include <openssl/crypto.h>

#include <sys/stat.h>

#include <cerrno>

namespace banger {

using namespace init;

Result<InitReport> make_cluster_ca(const fs::path& dir, bool force) {
  if (dir.empty())
    return invalid("banger cluster ca: no directory given");
  Context ctx{dir};
  ctx.force = force;
  auto pem_path = dir / "ca.pem";
  auto key_path = dir / "ca.key";
  auto ssh_path = dir / "id_ed25519";
  bool ca_exists = exists_no_follow(pem_path) && exists_no_follow(key_path);
  // A CA made before the cluster had an SSH key gets one and is kept;
  // anything else there is refused before anything is written: replacing
  // the CA cuts every host whose files it issued out of the cluster.
  bool add_ssh_only = !force && ca_exists && !exists_no_follow(ssh_path);
  if (!force && !add_ssh_only)
    for (const auto& path : {pem_path, key_path})
      if (exists_no_follow(path))
        return invalid(path.string() + " exists: " + dir.string() +
                       " already holds a cluster CA, and every member's files chain to it. "
                       "Keep it, or use --force to make a new one (then run banger init "
                       "--force --cluster-ca " + dir.string() + " on every host)");
  if (add_ssh_only) {
    if (auto ca = load_cluster_ca(dir); !ca)
      return std::move(ca).error();
    ctx.record(key_path, InitAction::kept, "the cluster CA stays");
    ctx.record(pem_path, InitAction::kept, "the cluster CA stays");
    if (auto s = make_ssh_key(ctx, dir, "banger cluster"); !s)
      return std::move(s).error();
    return std::move(ctx.report);
  }
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT && dir.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(dir.parent_path(), ec);
    if (ec)
      return Error{Errc::system,
                   "cannot create " + dir.parent_path().string() + ": " + ec.message()};
  }
  // 0700: the key inside signs host credentials.
  if (auto s = ensure_dir(ctx, dir, 0700); !s)
    return std::move(s).error();
  auto ca_id = random_hex(4);
  if (!ca_id)
    return std::move(ca_id).error();
  auto ca = pki::make_ca("banger cluster CA " + *ca_id);
  if (!ca)
    return std::move(ca).error();
  // The key first, as init does: a crash in between leaves a key without a
  // certificate, which the next run refuses instead of pairing wrong files.
  auto key_action = fresh(ctx, key_path);
  if (auto s = write_key(key_path, ca->key.get(), 0600, no_group); !s)
    return std::move(s).error();
  ctx.record(key_path, key_action, "mode 0600; signs every member's certificates");
  auto pem_action = fresh(ctx, pem_path);
  if (auto s = write_certificate(pem_path, ca->certificate.get(), 0644); !s)
    return std::move(s).error();
  ctx.record(pem_path, pem_action, "self-signed cluster CA, EC P-256, 10 years");
  if (auto s = make_ssh_key(ctx, dir, "banger cluster"); !s)
    return std::move(s).error();
  return std::move(ctx.report);
}

Result<ClusterSshKey> load_cluster_ssh_key(const fs::path& dir) {
  auto key_path = dir / "id_ed25519";
  auto pub_path = dir / "id_ed25519.pub";
  if (!exists_no_follow(key_path) || !exists_no_follow(pub_path))
    return invalid("--cluster-ca " + dir.string() + ": no cluster SSH key there (id_ed25519 "
                   "and id_ed25519.pub; a CA made by an older banger has none); run banger "
                   "cluster ca " + dir.string() + " once more: it adds the key and keeps the CA");
  auto key = read_small_file(key_path);
  if (!key)
    return std::move(key).error();
  auto pub = read_small_file(pub_path);
  if (!pub)
    return std::move(pub).error();
  if (key->find("-----BEGIN OPENSSH PRIVATE KEY-----") == std::string::npos)
    return invalid(key_path.string() + " is not an OpenSSH private key");
  if (!pub->starts_with("ssh-ed25519 "))
    return invalid(pub_path.string() + " is not an ed25519 public key");
  return ClusterSshKey{std::move(*key), std::move(*pub)};
}

Result<pki::Authority> load_cluster_ca(const fs::path& dir) {
  auto pem_path = dir / "ca.pem";
  auto key_path = dir / "ca.key";
  if (!exists_no_follow(pem_path) || !exists_no_follow(key_path))
    return invalid("--cluster-ca " + dir.string() + ": no cluster CA there (ca.pem and "
                   "ca.key); make one once with banger cluster ca " + dir.string());
  auto pem = read_small_file(pem_path);
  if (!pem)
    return std::move(pem).error();
  auto key_text = read_small_file(key_path);
  if (!key_text)
    return std::move(key_text).error();
  auto key = pki::parse_key_pem(*key_text);
  OPENSSL_cleanse(key_text->data(), key_text->size());
  auto cert = pki::parse_certificate_pem(*pem);
  if (!cert)
    return invalid(pem_path.string() + " is not a PEM certificate");
  if (!key)
    return invalid(key_path.string() + " is not an unencrypted PEM private key");
  if (!pki::key_matches(cert->get(), key->get()))
    return invalid(key_path.string() + " does not belong to " + pem_path.string());
  return pki::Authority{std::move(*cert), std::move(*key)};
}

} // namespace banger
