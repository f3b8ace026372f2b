// tls/: the home's CA and the helper, daemon and client leaves, made and
// checked with pki/. A kept CA, key or certificate is checked the way libssl
// will check it when CAF connects; anything inconsistent is reported with
// the --force hint instead of being silently re-signed.
#include "tools/cli/init_steps.hpp"

#include "messages/tls.hpp"
#include "pki/pki.hpp"

#include <openssl/crypto.h>

#include <vector>

namespace banger::init {

namespace {

using ssl::PKeyPtr;
using ssl::X509Ptr;

constexpr const char* regenerate = "run banger init --force to regenerate the TLS material";

Result<X509Ptr> load_certificate(const fs::path& path) {
  auto text = read_small_file(path);
  if (!text)
    return std::move(text).error();
  auto cert = pki::parse_certificate_pem(*text);
  if (!cert)
    return invalid(path.string() + " is not a PEM certificate; " + regenerate);
  return cert;
}

Result<PKeyPtr> load_key(const fs::path& path) {
  auto text = read_small_file(path);
  if (!text)
    return std::move(text).error();
  auto key = pki::parse_key_pem(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!key)
    return invalid(path.string() + " is not an unencrypted PEM private key; " + regenerate);
  return key;
}

// The checks libssl will make when CAF connects: key matches, chains to the
// CA for both directions, within validity.
Status check_leaf(X509* ca, X509* leaf, EVP_PKEY* key, const std::string& name) {
  if (!pki::key_matches(leaf, key))
    return invalid("tls/" + name + ".key does not belong to tls/" + name + ".pem; " +
                   regenerate);
  if (auto st = pki::verify_issued(ca, leaf); !st) {
    if (st.error().code != Errc::invalid_argument)
      return st;
    return invalid("tls/" + name + ".pem does not verify against tls/ca.pem (" +
                   st.error().message + "); " + regenerate);
  }
  return {};
}

Status write_certificate(const fs::path& path, X509* cert) {
  auto pem = pki::certificate_pem(cert);
  if (!pem)
    return std::move(pem).error();
  return write_atomic(path, 0644, no_group, pem->data(), pem->size());
}

// Unencrypted (the files' modes protect them); the PEM text stays in
// OpenSSL's secure heap.
Status write_key(const fs::path& path, EVP_PKEY* key, mode_t mode, gid_t group) {
  return pki::with_key_pem(key, [&](std::string_view pem) {
    return write_atomic(path, mode, group, pem.data(), pem.size());
  });
}

struct Leaf {
  TlsRole role;
  std::string name;
  mode_t key_mode;
  gid_t key_group;
  mode_t key_narrow; ///< mask applied to a kept key
};

std::vector<Leaf> leaves(const Context& ctx) {
  bool shared = ctx.client_group != no_group;
  return {
    {TlsRole::helper, "helper", 0600, no_group, 0600},
    {TlsRole::daemon, "daemon", 0600, no_group, 0600},
    // client.key keeps group read a previous --daemon-group granted.
    {TlsRole::client, "client", mode_t(shared ? 0640 : 0600), ctx.client_group, 0640},
  };
}

Status issue_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key, EVP_PKEY* key,
                  bool new_key) {
  auto files = tls_files(ctx.layout, leaf.role);
  if (new_key) {
    auto action = fresh(ctx, files.key);
    if (auto st = write_key(files.key, key, leaf.key_mode, leaf.key_group); !st)
      return st;
    ctx.record(files.key, action,
               "mode " + octal(leaf.key_mode) +
                 (leaf.key_group != no_group ? ", group " + ctx.client_group_name : ""));
  }
  auto cert = pki::issue(ca, ca_key, key, {.common_name = "banger-" + leaf.name});
  if (!cert)
    return std::move(cert).error();
  auto action = fresh(ctx, files.certificate);
  if (auto st = write_certificate(files.certificate, cert->get()); !st)
    return st;
  ctx.record(files.certificate, action, "CN=banger-" + leaf.name + ", 2 years");
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
  if (auto st = write_certificate(ca_pem, ca->certificate.get()); !st)
    return st;
  ctx.record(ca_pem, pem_action, "self-signed CA, EC P-256, 10 years");
  for (const auto& leaf : leaves(ctx)) {
    auto key = pki::generate_key();
    if (!key)
      return std::move(key).error();
    if (auto st = issue_leaf(ctx, leaf, ca->certificate.get(), ca->key.get(), key->get(), true);
        !st)
      return st;
  }
  return {};
}

// A kept leaf: its key is kept (or made), its certificate checked against
// the CA or, when missing, issued by it.
Status keep_or_issue_leaf(Context& ctx, const Leaf& leaf, X509* ca, EVP_PKEY* ca_key) {
  auto files = tls_files(ctx.layout, leaf.role);
  bool have_cert = exists_no_follow(files.certificate);
  bool have_key = exists_no_follow(files.key);
  if (have_cert && !have_key)
    return invalid(files.certificate.string() + " exists without its key; " + regenerate);
  if (!have_cert && !ca_key)
    return invalid("cannot issue tls/" + leaf.name + ".pem: tls/ca.key is missing (keep the "
                   "CA key next to ca.pem while running init, or use --force)");
  PKeyPtr key;
  if (have_key) {
    auto loaded = load_key(files.key);
    if (!loaded)
      return std::move(loaded).error();
    key = std::move(*loaded);
    if (auto st = keep_file(ctx, files.key, leaf.key_narrow, leaf.key_group, leaf.key_mode); !st)
      return st;
  } else {
    auto made = pki::generate_key();
    if (!made)
      return std::move(made).error();
    key = std::move(*made);
  }
  if (have_cert) {
    auto cert = load_certificate(files.certificate);
    if (!cert)
      return std::move(cert).error();
    if (auto st = check_leaf(ca, cert->get(), key.get(), leaf.name); !st)
      return st;
    return keep_file(ctx, files.certificate, 0644);
  }
  // A key without its certificate (e.g. a crash between the two writes):
  // certify the existing key rather than replace it.
  return issue_leaf(ctx, leaf, ca, ca_key, key.get(), !have_key);
}

} // namespace

Status init_tls(Context& ctx) {
  if (ctx.force)
    return generate_all_tls(ctx);
  auto ca_pem = ctx.layout.tls_dir() / "ca.pem";
  auto ca_key_path = tls_ca_key(ctx.layout);
  bool have_ca_pem = exists_no_follow(ca_pem);
  bool have_ca_key = exists_no_follow(ca_key_path);
  if (!have_ca_pem && !have_ca_key) {
    for (const auto& leaf : leaves(ctx)) {
      auto files = tls_files(ctx.layout, leaf.role);
      for (const auto& path : {files.certificate, files.key})
        if (exists_no_follow(path))
          return invalid(path.string() + " exists but the CA (tls/ca.pem, tls/ca.key) does "
                                         "not; run banger init --force to regenerate all TLS "
                                         "material");
    }
    return generate_all_tls(ctx);
  }
  if (!have_ca_pem)
    return invalid(ca_key_path.string() + " exists without tls/ca.pem; run banger init "
                                          "--force to regenerate all TLS material");
  auto ca = load_certificate(ca_pem);
  if (!ca)
    return std::move(ca).error();
  PKeyPtr ca_key;
  if (have_ca_key) {
    auto key = load_key(ca_key_path);
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
    if (auto st = keep_or_issue_leaf(ctx, leaf, ca->get(), ca_key.get()); !st)
      return st;
  return {};
}

} // namespace banger::init
