// tls/: the home's CA and the helper, daemon and client leaves, made and
// checked with pki/. A kept CA, key or certificate is checked the way libssl
// will check it when CAF connects; anything inconsistent is reported with
// the --force hint instead of being silently re-signed. A cluster host's
// home takes the other path, init_cluster_tls.cpp, with the leaf parts here.
#include "tools/cli/init_tls.hpp"

#include "messages/tls.hpp"

#include <openssl/crypto.h>
#include <openssl/x509.h>

namespace banger::init {

using ssl::PKeyPtr;
using ssl::X509Ptr;

namespace {

std::string subject_common_name(X509* cert) {
  char buf[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// The checks libssl will make when CAF connects: key matches, chains to the
// CA for both directions, within validity; and the name, where it matters.
Status check_leaf(const Context& ctx, X509* ca, X509* leaf, EVP_PKEY* key, const Leaf& spec) {
  const auto& name = spec.name;
  if (!pki::key_matches(leaf, key))
    return invalid("tls/" + name + ".key does not belong to tls/" + name + ".pem; " +
                   regenerate_hint(ctx));
  if (auto st = pki::verify_issued(ca, leaf); !st) {
    if (st.error().code != Errc::invalid_argument)
      return st;
    return invalid("tls/" + name + ".pem does not verify against tls/ca.pem (" +
                   st.error().message + "); " + regenerate_hint(ctx));
  }
  if (spec.check_name && subject_common_name(leaf) != spec.common_name)
    return invalid("tls/" + name + ".pem is for '" + subject_common_name(leaf) + "', not '" +
                   spec.common_name + "'; " + regenerate_hint(ctx));
  return {};
}

Status generate_all_tls(Context& ctx) {
  auto ca_pem = ctx.layout.tls_dir() / "ca.pem";
  auto ca_key_path = tls_ca_key(ctx.layout);
  // A per-home name: two homes' CAs never look alike, even by name.
  auto ca_id = random_hex(4);
  if (!ca_id)
    return std::move(ca_id).error();
  auto ca = pki::make_ca("banger CA " + *ca_id);
  if (!ca)
    return std::move(ca).error();
  // The key first: a crash in between leaves a key without a certificate,
  // which the next run reports instead of silently pairing wrong files.
  auto key_action = fresh(ctx, ca_key_path);
  if (auto st = write_key(ca_key_path, ca->key.get(), 0400, no_group); !st)
    return st;
  ctx.record(ca_key_path, key_action, "mode 0400");
  auto pem_action = fresh(ctx, ca_pem);
  if (auto st = write_certificate(ca_pem, ca->certificate.get(), 0644); !st)
    return st;
  ctx.record(ca_pem, pem_action, "self-signed CA, EC P-256, 10 years");
  for (const auto& leaf : leaves(ctx))
    if (auto st = issue_new_leaf(ctx, leaf, ca->certificate.get(), ca->key.get()); !st)
      return st;
  return {};
}

} // namespace

std::vector<Leaf> leaves(const Context& ctx) {
  bool shared = ctx.client_group != no_group;
  return {
    {.name = "helper", .common_name = "banger-helper"},
    {.name = "daemon", .common_name = "banger-daemon"},
    // client.key keeps group read a previous --daemon-group granted.
    {.name = "client",
     .common_name = "banger-client",
     .key_mode = mode_t(shared ? 0640 : 0600),
     .key_group = ctx.client_group,
     .key_narrow = 0640},
  };
}

fs::path certificate_path(const Context& ctx, const Leaf& leaf) {
  return ctx.layout.tls_dir() / (leaf.name + ".pem");
}

fs::path key_path(const Context& ctx, const Leaf& leaf) {
  return ctx.layout.tls_dir() / (leaf.name + ".key");
}

std::string regenerate_hint(const Context& ctx) {
  if (ctx.host_id.empty())
    return "run banger init --force to regenerate the TLS material";
  return "run banger init --force --cluster-ca DIR --host-id " + ctx.host_id +
         " to reissue this host's TLS files from the cluster CA";
}

Result<X509Ptr> load_certificate(const Context& ctx, const fs::path& path) {
  auto text = read_small_file(path);
  if (!text)
    return std::move(text).error();
  auto cert = pki::parse_certificate_pem(*text);
  if (!cert)
    return invalid(path.string() + " is not a PEM certificate; " + regenerate_hint(ctx));
  return cert;
}

Result<PKeyPtr> load_key(const Context& ctx, const fs::path& path) {
  auto text = read_small_file(path);
  if (!text)
    return std::move(text).error();
  auto key = pki::parse_key_pem(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key)
    return invalid(path.string() + " is not an unencrypted PEM private key; " +
                   regenerate_hint(ctx));
  return key;
}

Status write_certificate(const fs::path& path, X509* cert, mode_t mode) {
  auto pem = pki::certificate_pem(cert);
  if (!pem)
    return std::move(pem).error();
  return write_atomic(path, mode, no_group, pem->data(), pem->size());
}

// Unencrypted (the files' modes protect them); the PEM text stays in
// OpenSSL's secure heap.
Status write_key(const fs::path& path, EVP_PKEY* key, mode_t mode, gid_t group) {
  return pki::with_key_pem(key, [&](std::string_view pem) {
    return write_atomic(path, mode, group, pem.data(), pem.size());
  });
}

Status issue_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key, EVP_PKEY* key,
                  bool new_key) {
  auto cert_file = certificate_path(ctx, leaf);
  auto key_file = key_path(ctx, leaf);
  if (new_key) {
    auto action = fresh(ctx, key_file);
    if (auto st = write_key(key_file, key, leaf.key_mode, leaf.key_group); !st)
      return st;
    ctx.record(key_file, action,
               "mode " + octal(leaf.key_mode) +
                 (leaf.key_group != no_group ? ", group " + ctx.client_group_name : ""));
  }
  auto cert = pki::issue(ca, ca_key, key, {.common_name = leaf.common_name});
  if (!cert)
    return std::move(cert).error();
  auto action = fresh(ctx, cert_file);
  if (auto st = write_certificate(cert_file, cert->get(), leaf.certificate_mode); !st)
    return st;
  ctx.record(cert_file, action,
             "CN=" + leaf.common_name + ", 2 years" +
               (leaf.certificate_mode != 0644 ? ", mode " + octal(leaf.certificate_mode) : ""));
  return {};
}

Status issue_new_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key) {
  auto key = pki::generate_key();
  if (!key)
    return std::move(key).error();
  return issue_leaf(ctx, leaf, ca, ca_key, key->get(), true);
}

Status keep_or_issue_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key,
                          const std::string& missing_key) {
  auto cert_file = certificate_path(ctx, leaf);
  auto key_file = key_path(ctx, leaf);
  bool have_cert = exists_no_follow(cert_file);
  bool have_key = exists_no_follow(key_file);
  if (have_cert && !have_key)
    return invalid(cert_file.string() + " exists without its key; " + regenerate_hint(ctx));
  if (!have_cert && !ca_key)
    return invalid("cannot issue tls/" + leaf.name + ".pem: " + missing_key);
  PKeyPtr key;
  if (have_key) {
    auto loaded = load_key(ctx, key_file);
    if (!loaded)
      return std::move(loaded).error();
    key = std::move(*loaded);
    if (auto st = keep_file(ctx, key_file, leaf.key_narrow, leaf.key_group, leaf.key_mode); !st)
      return st;
  } else {
    auto made = pki::generate_key();
    if (!made)
      return std::move(made).error();
    key = std::move(*made);
  }
  if (have_cert) {
    auto cert = load_certificate(ctx, cert_file);
    if (!cert)
      return std::move(cert).error();
    if (auto st = check_leaf(ctx, ca, cert->get(), key.get(), leaf); !st)
      return st;
    return keep_file(ctx, cert_file, leaf.certificate_mode);
  }
  // A key without its certificate (e.g. a crash between the two writes):
  // certify the existing key rather than replace it.
  return issue_leaf(ctx, leaf, ca, ca_key, key.get(), !have_key);
}

Status init_tls(Context& ctx) {
  if (!ctx.host_id.empty())
    return init_cluster_tls(ctx);
  if (ctx.force)
    return generate_all_tls(ctx);
  auto ca_pem = ctx.layout.tls_dir() / "ca.pem";
  auto ca_key_path = tls_ca_key(ctx.layout);
  bool have_ca_pem = exists_no_follow(ca_pem);
  bool have_ca_key = exists_no_follow(ca_key_path);
  if (!have_ca_pem && !have_ca_key) {
    for (const auto& leaf : leaves(ctx))
      for (const auto& path : {certificate_path(ctx, leaf), key_path(ctx, leaf)})
        if (exists_no_follow(path))
          return invalid(path.string() + " exists but the CA (tls/ca.pem, tls/ca.key) does "
                                         "not; run banger init --force to regenerate all TLS "
                                         "material");
    return generate_all_tls(ctx);
  }
  if (!have_ca_pem)
    return invalid(ca_key_path.string() + " exists without tls/ca.pem; run banger init "
                                          "--force to regenerate all TLS material");
  auto ca = load_certificate(ctx, ca_pem);
  if (!ca)
    return std::move(ca).error();
  PKeyPtr ca_key;
  if (have_ca_key) {
    auto key = load_key(ctx, ca_key_path);
    if (!key)
      return std::move(key).error();
    if (!pki::key_matches(ca->get(), key->get()))
      return invalid("tls/ca.key does not belong to tls/ca.pem; run banger init --force to "
                     "regenerate all TLS material");
    ca_key = std::move(*key);
    if (auto st = keep_file(ctx, ca_key_path, 0400); !st)
      return st;
  }
  if (auto st = keep_file(ctx, ca_pem, 0644); !st)
    return st;
  for (const auto& leaf : leaves(ctx))
    if (auto st = keep_or_issue_leaf(ctx, leaf, ca->get(), ca_key.get(),
                                     "tls/ca.key is missing (keep the CA key next to ca.pem "
                                     "while running init, or use --force)");
        !st)
      return st;
  return {};
}

} // namespace banger::init
