// Parsed TLS files, shared by every TLS context a process builds.
//
// CAF 0.17.6 builds a new SSL_CTX for every connection
// (openssl/session.cpp, create_ssl_context) and parses the certificate
// chain, the private key and the CA file into it each time. In OpenSSL 3 that
// parse is most of a connection's cost: measured on bangerd, 31 % of its CPU
// per CLI call went to create_ssl_context, 27 % to decoding the key alone
// (BENCHMARKS.md, "CLI start-up"). tls_credentials.cpp stands in front of
// libssl's three loaders (SSL_CTX_use_certificate_chain_file,
// SSL_CTX_use_PrivateKey_file, SSL_CTX_load_verify_locations) and hands
// each context the objects parsed the first time. A file is parsed again
// when its identity changes (device, inode, size, modification and change
// times), so a replaced certificate is used from the next connection on, as
// before. The pre-flight check of tls.cpp parses through the same cache, so
// a CLI parses each file once.
//
// What falls outside (an encrypted key, a CA directory) goes to libssl's own
// loader unchanged.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace banger::tls_credentials {

/// A certificate file: the first certificate, then the rest, in file order.
struct Chain {
  std::shared_ptr<X509> leaf;
  std::vector<std::shared_ptr<X509>> rest;
};

/// The parsed contents of `path`, from the cache while the file is the one
/// parsed. Null when the file cannot be read or holds nothing usable;
/// `reason` (if given) then says why in OpenSSL's words.
std::shared_ptr<const Chain> chain(const std::string& path, std::string* reason = nullptr);
/// An unencrypted PEM private key (an encrypted one is null here).
std::shared_ptr<EVP_PKEY> key(const std::string& path, std::string* reason = nullptr);
/// A store holding every certificate of a CA file.
std::shared_ptr<X509_STORE> store(const std::string& path, std::string* reason = nullptr);

/// How many times files were parsed in this process (for tests: a second
/// connection must not parse again).
std::uint64_t parses();

} // namespace banger::tls_credentials
