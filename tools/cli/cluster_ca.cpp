// `banger cluster ca`: the cluster CA, with init's file primitives (atomic
// writes with the mode set before the first byte, no symlinks followed).
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
  // Refused before anything is written: replacing the CA cuts every host
  // whose files it issued out of the cluster.
  if (!force)
    for (const auto& path : {pem_path, key_path})
      if (exists_no_follow(path))
        return invalid(path.string() + " exists: " + dir.string() +
                       " already holds a cluster CA, and every member's files chain to it. "
                       "Keep it, or use --force to make a new one (then run banger init "
                       "--force --cluster-ca " + dir.string() + " on every host)");
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
  return std::move(ctx.report);
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
