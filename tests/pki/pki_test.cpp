// pki/: a CA made here signs certificates that OpenSSL verifies against it,
// for TLS client and server use, and against no other CA; what it writes as
// PEM reads back as the same certificate and key.
#include "pki/pki.hpp"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

using namespace banger;

namespace {

// OpenSSL's own verdict, independent of pki::verify_issued: X509_V_OK when
// `leaf` chains to `ca` (trusted alone) for `purpose`.
// `intermediate`, when given, is offered as an untrusted chain certificate.
int openssl_verify(X509* ca, X509* leaf, int purpose, X509* intermediate = nullptr) {
  ssl::StorePtr store{X509_STORE_new()};
  X509_STORE_add_cert(store.get(), ca);
  ssl::CertStackPtr chain{sk_X509_new_null()};
  if (intermediate)
    sk_X509_push(chain.get(), X509_dup(intermediate));
  ssl::StoreCtxPtr ctx{X509_STORE_CTX_new()};
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain.get());
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  int ok = X509_verify_cert(ctx.get());
  int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return ok == 1 ? X509_V_OK : err;
}

std::string common_name(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

pki::Authority ca_named(const std::string& name) {
  auto ca = pki::make_ca(name);
  REQUIRE(ca.ok());
  return std::move(*ca);
}

ssl::X509Ptr issued(const pki::Authority& ca, EVP_PKEY* key, const std::string& cn) {
  auto cert = pki::issue(ca, key, {.common_name = cn});
  REQUIRE(cert.ok());
  return std::move(*cert);
}

} // namespace

TEST_CASE("a certificate issued by a CA chains to it for TLS client and server use") {
  auto ca = ca_named("test CA");
  auto key = pki::generate_key();
  REQUIRE(key.ok());
  auto uut = issued(ca, key->get(), "host-1");
  CHECK(common_name(uut.get()) == "host-1");
  CHECK(openssl_verify(ca.certificate.get(), uut.get(), X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  CHECK(openssl_verify(ca.certificate.get(), uut.get(), X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  CHECK(pki::verify_issued(ca.certificate.get(), uut.get()).ok());
  CHECK(pki::key_matches(uut.get(), key->get()));
  CHECK_FALSE(pki::key_matches(uut.get(), ca.key.get()));
}

TEST_CASE("a certificate from another CA does not chain, even under the same name") {
  auto ours = ca_named("banger CA");
  auto theirs = ca_named("banger CA");
  auto key = pki::generate_key();
  REQUIRE(key.ok());
  auto uut = issued(theirs, key->get(), "host-1");
  CHECK(openssl_verify(ours.certificate.get(), uut.get(), X509_PURPOSE_SSL_CLIENT) != X509_V_OK);
  CHECK(openssl_verify(ours.certificate.get(), uut.get(), X509_PURPOSE_SSL_SERVER) != X509_V_OK);
  auto st = pki::verify_issued(ours.certificate.get(), uut.get());
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::invalid_argument);
}

TEST_CASE("a CA certificate can sign but a leaf cannot act as a CA") {
  auto ca = ca_named("test CA");
  CHECK(X509_check_ca(ca.certificate.get()) == 1);
  auto key = pki::generate_key();
  REQUIRE(key.ok());
  auto leaf = issued(ca, key->get(), "leaf");
  CHECK(X509_check_ca(leaf.get()) == 0);
  // A certificate signed with the leaf's key, offered with the leaf as its
  // chain, does not verify: the leaf is no CA.
  pki::Authority fake{ssl::X509Ptr{X509_dup(leaf.get())}, std::move(*key)};
  auto other = pki::generate_key();
  REQUIRE(other.ok());
  auto grandchild = issued(fake, other->get(), "grandchild");
  CHECK(openssl_verify(ca.certificate.get(), grandchild.get(), X509_PURPOSE_SSL_CLIENT,
                       leaf.get()) == X509_V_ERR_INVALID_CA);
}

TEST_CASE("PEM round trips keep the certificate and the key") {
  auto ca = ca_named("test CA");
  auto pem = pki::certificate_pem(ca.certificate.get());
  REQUIRE(pem.ok());
  auto cert = pki::parse_certificate_pem(*pem);
  REQUIRE(cert.ok());
  CHECK(X509_cmp(cert->get(), ca.certificate.get()) == 0);
  std::string key_text;
  REQUIRE(pki::with_key_pem(ca.key.get(), [&](std::string_view text) -> Status {
            key_text = std::string(text);
            return {};
          }).ok());
  auto key = pki::parse_key_pem(key_text);
  REQUIRE(key.ok());
  CHECK(pki::key_matches(ca.certificate.get(), key->get()));
  CHECK(pki::parse_certificate_pem("not pem").error().code == Errc::invalid_argument);
  CHECK(pki::parse_key_pem(*pem).error().code == Errc::invalid_argument);
}
