#include "pki/pki.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <utility>
#include <vector>

namespace banger::pki {

namespace {

using namespace banger::ssl;

Error crypto_error(const std::string& what) {
  std::string reason = "unknown error";
  if (unsigned long code = ERR_peek_last_error())
    if (const char* text = ERR_reason_error_string(code))
      reason = text;
  ERR_clear_error();
  return Error{Errc::internal, what + ": " + reason};
}

int no_passphrase(char*, int, int, void*) {
  return -1;
}

Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX v3{};
  X509V3_set_ctx(&v3, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  ExtPtr ext{X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str())};
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return crypto_error(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid) +
                        "=" + value);
  return {};
}

std::vector<std::pair<int, std::string>> extensions(const CertificateSpec& spec) {
  if (spec.usage == Usage::certificate_authority)
    return {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
            {NID_key_usage, "critical,keyCertSign,cRLSign"},
            {NID_subject_key_identifier, "hash"},
            {NID_authority_key_identifier, "keyid:always"}};
  std::vector<std::pair<int, std::string>> out = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "serverAuth,clientAuth"}};
  if (!spec.alt_names.empty())
    out.emplace_back(NID_subject_alt_name, spec.alt_names);
  out.emplace_back(NID_subject_key_identifier, "hash");
  out.emplace_back(NID_authority_key_identifier, "keyid:always");
  return out;
}

// Issues a certificate for `key`, signed by `issuer_key` under `issuer`, or
// self-signed when `issuer` is null.
Result<X509Ptr> make_certificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer,
                                 EVP_PKEY* issuer_key) {
  X509Ptr cert{X509_new()};
  if (!cert || X509_set_version(cert.get(), 2) != 1)
    return crypto_error("X509_new");
  // 127 random bits: positive, unique in practice, within RFC 5280's 20 bytes.
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1)
    return crypto_error("RAND_bytes");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x01);
  BnPtr bn{BN_bin2bn(serial, sizeof(serial), nullptr)};
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())))
    return crypto_error("cannot set serial number");
  // Backdated a little so a peer whose clock is slightly behind accepts it.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), spec.days, 0, nullptr))
    return crypto_error("cannot set validity");
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto text = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.c_str()); };
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, text("banger"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, text(spec.common_name), -1, -1,
                                 0) != 1)
    return crypto_error("cannot set subject name");
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1)
    return crypto_error("cannot set issuer or public key");
  for (const auto& [nid, value] : extensions(spec))
    if (auto st = add_ext(cert.get(), issuer, nid, value); !st)
      return std::move(st).error();
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
    return crypto_error("cannot sign certificate " + spec.common_name);
  return cert;
}

} // namespace

Result<PKeyPtr> generate_key() {
  PKeyPtr key{EVP_EC_gen("P-256")};
  if (!key)
    return crypto_error("cannot generate an EC P-256 key");
  return key;
}

Result<Authority> make_ca(const std::string& common_name, int days) {
  auto key = generate_key();
  if (!key)
    return std::move(key).error();
  auto cert = make_certificate({common_name, Usage::certificate_authority, days, {}},
                               key->get(), nullptr, nullptr);
  if (!cert)
    return std::move(cert).error();
  return Authority{std::move(*cert), std::move(*key)};
}

Result<X509Ptr> issue(X509* issuer, EVP_PKEY* issuer_key, EVP_PKEY* subject_key,
                      const CertificateSpec& spec) {
  if (!issuer || !issuer_key || !subject_key)
    return Error{Errc::invalid_argument, "pki::issue needs an issuer, its key and a subject key"};
  return make_certificate(spec, subject_key, issuer, issuer_key);
}

bool key_matches(X509* certificate, EVP_PKEY* key) {
  bool ok = X509_check_private_key(certificate, key) == 1;
  ERR_clear_error();
  return ok;
}

Status verify_issued(X509* ca, X509* certificate) {
  StorePtr store{X509_STORE_new()};
  if (!store || X509_STORE_add_cert(store.get(), ca) != 1)
    return crypto_error("cannot build a certificate store");
  for (int purpose : {X509_PURPOSE_SSL_CLIENT, X509_PURPOSE_SSL_SERVER}) {
    StoreCtxPtr vctx{X509_STORE_CTX_new()};
    if (!vctx || X509_STORE_CTX_init(vctx.get(), store.get(), certificate, nullptr) != 1)
      return crypto_error("cannot set up verification");
    X509_STORE_CTX_set_purpose(vctx.get(), purpose);
    if (X509_verify_cert(vctx.get()) != 1) {
      auto reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx.get()));
      ERR_clear_error();
      return Error{Errc::invalid_argument, reason};
    }
  }
  return {};
}

Result<std::string> certificate_pem(X509* certificate) {
  BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1)
    return crypto_error("cannot encode a certificate");
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Status with_key_pem(EVP_PKEY* key, const std::function<Status(std::string_view pem)>& use) {
  BioPtr bio{BIO_new(BIO_s_secmem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return crypto_error("cannot encode a private key");
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  return use(std::string_view(data, static_cast<std::size_t>(size)));
}

Result<X509Ptr> parse_certificate_pem(std::string_view pem) {
  BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  X509Ptr cert{bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr};
  ERR_clear_error();
  if (!cert)
    return Error{Errc::invalid_argument, "not a PEM certificate"};
  return cert;
}

Result<PKeyPtr> parse_key_pem(std::string_view pem) {
  BioPtr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  PKeyPtr key{bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr};
  ERR_clear_error();
  if (!key)
    return Error{Errc::invalid_argument, "not an unencrypted PEM private key"};
  return key;
}

} // namespace banger::pki
