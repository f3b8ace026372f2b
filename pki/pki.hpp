// banger's certificate authority, as a small CAF-free library: make a CA,
// issue a certificate for a key under it, check that one chains to it, and
// move both in and out of PEM. `banger init` builds a home's PKI with it;
// the cluster layer will sign host certificates with it. A top-level folder
// rather than tools/: daemons may link it, and actors/ never depends on
// tools/.
//
// Keys are EC P-256, signatures SHA-256. Every certificate has O=banger and
// the given CN, a random 127-bit serial, and is backdated five minutes so a
// peer whose clock is slightly behind accepts it.
#pragma once

#include "messages/openssl_ptr.hpp"
#include "messages/result.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace banger::pki {

inline constexpr int ca_days = 3650;  ///< 10 years
inline constexpr int leaf_days = 730; ///< 2 years

/// What a certificate may be used for.
enum class Usage {
  /// Signs certificates (CA:TRUE, pathlen 0: it signs leaves only).
  certificate_authority,
  /// TLS in both directions with the same certificate (serverAuth and
  /// clientAuth): CAF connects both ways with one identity.
  tls_peer,
};

struct CertificateSpec {
  std::string common_name;
  Usage usage = Usage::tls_peer;
  int days = leaf_days;
  /// subjectAltName of a tls_peer certificate, OpenSSL's syntax. CAF checks
  /// no names; it is there for tools that do.
  std::string alt_names = "IP:127.0.0.1,DNS:localhost";
};

/// A CA: its self-signed certificate and the key that signs with it.
struct Authority {
  ssl::X509Ptr certificate;
  ssl::PKeyPtr key;
};

/// A fresh EC P-256 key.
Result<ssl::PKeyPtr> generate_key();

/// A new CA named `common_name` with a fresh key, valid for `days`.
Result<Authority> make_ca(const std::string& common_name, int days = ca_days);

/// A certificate for `subject_key` as `spec` says, signed by `issuer`.
Result<ssl::X509Ptr> issue(X509* issuer, EVP_PKEY* issuer_key, EVP_PKEY* subject_key,
                           const CertificateSpec& spec);
inline Result<ssl::X509Ptr> issue(const Authority& ca, EVP_PKEY* subject_key,
                                  const CertificateSpec& spec) {
  return issue(ca.certificate.get(), ca.key.get(), subject_key, spec);
}

/// Whether `key` is the private key of `certificate`.
bool key_matches(X509* certificate, EVP_PKEY* key);

/// The checks libssl makes when CAF connects: `certificate` chains to `ca`
/// (trusted alone) for TLS client and for TLS server use, within validity.
/// The error (invalid_argument) carries OpenSSL's reason.
Status verify_issued(X509* ca, X509* certificate);

/// PEM text of a certificate.
Result<std::string> certificate_pem(X509* certificate);

/// Hands the unencrypted PKCS#8 PEM of `key` to `use`. The text lives in
/// OpenSSL's secure heap, wiped when freed, and only for the call.
Status with_key_pem(EVP_PKEY* key, const std::function<Status(std::string_view pem)>& use);

/// Parses a PEM certificate / unencrypted PEM private key; invalid_argument
/// when the text is not one.
Result<ssl::X509Ptr> parse_certificate_pem(std::string_view pem);
Result<ssl::PKeyPtr> parse_key_pem(std::string_view pem);

} // namespace banger::pki
