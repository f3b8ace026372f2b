#include "messages/tls.hpp"

#include "messages/config.hpp"
#include "messages/openssl_ptr.hpp"

#include <caf/openssl/manager.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace banger {

namespace {

namespace fs = std::filesystem;

using namespace banger::ssl;

/// Wipes its contents on destruction: the key file passes through it.
struct SecretString {
  std::string data;
  ~SecretString() { OPENSSL_cleanse(data.data(), data.size()); }
};

// The text of the oldest queued OpenSSL error, then clears the queue.
std::string openssl_reason() {
  std::string out = "no PEM data";
  if (unsigned long code = ERR_peek_error()) {
    const char* reason = ERR_reason_error_string(code);
    out = reason ? reason : "unknown OpenSSL error";
  }
  ERR_clear_error();
  return out;
}

// Reads a TLS file this process must be able to read, with the error a user
// can act on: missing -> invalid_argument (+hint), no permission ->
// unauthenticated (reading the key *is* the CLI's credential).
Status read_file(const fs::path& path, std::string_view what, std::string_view hint,
                 std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = std::string(what) + " " + path.string();
    if (err == ENOENT) {
      msg += " does not exist";
      if (!hint.empty())
        msg += " (" + std::string(hint) + ")";
      return Error{Errc::invalid_argument, msg};
    }
    msg = "cannot read " + msg + ": " + std::strerror(err);
    if (err == EACCES || err == EPERM)
      return Error{Errc::unauthenticated,
                   msg + " (this user may not use this TLS identity; CLI access is "
                         "granted by the group given to `banger init --daemon-group`)"};
    return Error{Errc::invalid_argument, msg};
  }
  constexpr std::size_t limit = 1 << 20; // PEM files are a few KB
  char chunk[4096];
  for (;;) {
    auto got = ::read(fd, chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int err = errno;
      ::close(fd);
      return Error{Errc::invalid_argument, "cannot read " + std::string(what) + " " +
                                             path.string() + ": " + std::strerror(err)};
    }
    if (got == 0)
      break;
    out.append(chunk, static_cast<std::size_t>(got));
    if (out.size() > limit) {
      ::close(fd);
      return Error{Errc::invalid_argument,
                   std::string(what) + " " + path.string() + " is too large for a PEM file"};
    }
  }
  OPENSSL_cleanse(chunk, sizeof(chunk));
  ::close(fd);
  return {};
}

BioPtr memory_bio(const std::string& data) {
  return BioPtr{BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))};
}

// Every certificate in a PEM text, in order.
std::vector<X509Ptr> parse_certificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  auto bio = memory_bio(pem);
  while (auto* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    out.emplace_back(cert);
  ERR_clear_error(); // the loop ends on a "no start line" error
  return out;
}

// banger keys are unencrypted: refuse to prompt on the terminal for one.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

Status verify_for(X509_STORE* store, X509* leaf, STACK_OF(X509) * chain, int purpose,
                  const TlsFiles& files) {
  StoreCtxPtr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, leaf, chain) != 1)
    return Error{Errc::internal, "cannot set up certificate verification: " + openssl_reason()};
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1)
    return {};
  auto reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  ERR_clear_error();
  std::string use = purpose == X509_PURPOSE_SSL_CLIENT ? "TLS client" : "TLS server";
  return Error{Errc::unauthenticated, "certificate " + files.certificate.string() +
                                        " is not valid for " + use + " use under CA " +
                                        files.ca.string() + ": " + reason};
}

Status set_files(Config& cfg, const TlsFiles& files, std::string_view hint) {
  // CAF opens these again for every connection, possibly after a chdir.
  std::error_code ec;
  TlsFiles absolute;
  for (auto [from, to] : {std::pair{&files.certificate, &absolute.certificate},
                          std::pair{&files.key, &absolute.key}, std::pair{&files.ca, &absolute.ca}})
    if (*to = fs::absolute(*from, ec); ec)
      return Error{Errc::invalid_argument,
                   "cannot resolve " + from->string() + ": " + ec.message()};
  if (auto st = check_tls_files(absolute, hint); !st)
    return st;
  cfg.load<caf::openssl::manager>();
  // set() stores through CAF's option table, which updates both the
  // openssl_* members the OpenSSL module reads and the config dictionary.
  cfg.set("openssl.certificate", absolute.certificate.string());
  cfg.set("openssl.key", absolute.key.string());
  cfg.set("openssl.cafile", absolute.ca.string());
  cfg.set("openssl.passphrase", std::string{});
  cfg.set("openssl.capath", std::string{});
  if (cfg.openssl_certificate != absolute.certificate.string() ||
      cfg.openssl_key != absolute.key.string() || cfg.openssl_cafile != absolute.ca.string())
    return Error{Errc::internal, "CAF did not accept the openssl.* settings"};
  return {};
}

} // namespace

Status check_tls_files(const TlsFiles& files, std::string_view hint) {
  std::string cert_pem;
  SecretString key_pem;
  std::string ca_pem;
  if (auto st = read_file(files.certificate, "TLS certificate", hint, cert_pem); !st)
    return st;
  if (auto st = read_file(files.key, "TLS key", hint, key_pem.data); !st)
    return st;
  if (auto st = read_file(files.ca, "TLS CA certificate", hint, ca_pem); !st)
    return st;

  auto certs = parse_certificates(cert_pem);
  if (certs.empty())
    return Error{Errc::invalid_argument,
                 "TLS certificate " + files.certificate.string() + " holds no PEM certificate"};
  auto bio = memory_bio(key_pem.data);
  PKeyPtr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
  if (!key)
    return Error{Errc::invalid_argument, "TLS key " + files.key.string() +
                                           " is not an unencrypted PEM private key (" +
                                           openssl_reason() + ")"};
  auto cas = parse_certificates(ca_pem);
  if (cas.empty())
    return Error{Errc::invalid_argument,
                 "TLS CA file " + files.ca.string() + " holds no PEM certificate"};

  if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return Error{Errc::unauthenticated, "TLS key " + files.key.string() +
                                          " does not belong to certificate " +
                                          files.certificate.string()};
  }

  StorePtr store{X509_STORE_new()};
  if (!store)
    return Error{Errc::internal, "X509_STORE_new failed"};
  for (auto& ca : cas)
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1)
      return Error{Errc::invalid_argument,
                   "cannot use CA file " + files.ca.string() + ": " + openssl_reason()};
  CertStackPtr chain{sk_X509_new_null()};
  for (std::size_t i = 1; i < certs.size(); ++i) {
    if (!sk_X509_push(chain.get(), certs[i].get()))
      return Error{Errc::internal, "sk_X509_push failed"};
    certs[i].release(); // now owned by the stack
  }
  // CAF uses every connection in both directions, and libssl checks a
  // server's certificate for "sslserver" and a client's for "sslclient".
  for (int purpose : {X509_PURPOSE_SSL_CLIENT, X509_PURPOSE_SSL_SERVER})
    if (auto st = verify_for(store.get(), certs.front().get(), chain.get(), purpose, files);
        !st)
      return st;
  return {};
}

namespace detail {
bool tls_error_queue_guard(); // tls_error_queue.cpp
} // namespace detail

Status enable_tls(Config& cfg, const HomeLayout& home, TlsRole role) {
  [[maybe_unused]] static const bool guarded = detail::tls_error_queue_guard();
  auto hint = "run `banger init --home " + home.home().string() + "` to create it";
  return set_files(cfg, tls_files(home, role), hint);
}

Status enable_tls_files(Config& cfg, const std::filesystem::path& certificate,
                        const std::filesystem::path& key, const std::filesystem::path& ca) {
  [[maybe_unused]] static const bool guarded = detail::tls_error_queue_guard();
  return set_files(cfg, TlsFiles{certificate, key, ca},
                   "`banger init` creates it in <home>/tls/");
}

} // namespace banger
