#include "messages/tls.hpp"

#include "messages/config.hpp"
#include "messages/openssl_ptr.hpp"
#include "messages/tls_credentials.hpp"

#include <caf/openssl/manager.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
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

// Opens a TLS file this process must be able to read, with the error a user
// can act on: missing -> invalid_argument (+hint), no permission ->
// unauthenticated (reading the key *is* the CLI's credential). Its contents
// are read once, by tls_credentials.
Status check_readable(const fs::path& path, std::string_view what, std::string_view hint) {
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
  constexpr off_t limit = 1 << 20; // PEM files are a few KB
  struct stat st{};
  bool too_large = ::fstat(fd, &st) == 0 && st.st_size > limit;
  ::close(fd);
  if (too_large)
    return Error{Errc::invalid_argument,
                 std::string(what) + " " + path.string() + " is too large for a PEM file"};
  return {};
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

} // namespace

Status check_tls_files(const TlsFiles& files, std::string_view hint) {
  // Opening first gives the errors a user can act on (missing file, no
  // permission); the read and parse are the cache's, which CAF's contexts
  // then reuse.
  for (auto [path, what] : {std::pair{&files.certificate, "TLS certificate"},
                            std::pair{&files.key, "TLS key"},
                            std::pair{&files.ca, "TLS CA certificate"}})
    if (auto st = check_readable(*path, what, hint); !st)
      return st;
  std::string reason;
  auto chain = tls_credentials::chain(files.certificate, &reason);
  if (!chain)
    return Error{Errc::invalid_argument,
                 "TLS certificate " + files.certificate.string() + " holds no PEM certificate"};
  auto key = tls_credentials::key(files.key, &reason);
  if (!key)
    return Error{Errc::invalid_argument, "TLS key " + files.key.string() +
                                           " is not an unencrypted PEM private key (" + reason +
                                           ")"};
  auto store = tls_credentials::store(files.ca, &reason);
  if (!store)
    return Error{Errc::invalid_argument,
                 "TLS CA file " + files.ca.string() + " holds no PEM certificate"};

  if (X509_check_private_key(chain->leaf.get(), key.get()) != 1) {
    ERR_clear_error();
    return Error{Errc::unauthenticated, "TLS key " + files.key.string() +
                                          " does not belong to certificate " +
                                          files.certificate.string()};
  }

  CertStackPtr rest{sk_X509_new_null()};
  for (const auto& cert : chain->rest)
    if (X509_up_ref(cert.get()) != 1 || !sk_X509_push(rest.get(), cert.get()))
      return Error{Errc::internal, "sk_X509_push failed"};
  // CAF uses every connection in both directions, and libssl checks a
  // server's certificate for "sslserver" and a client's for "sslclient".
  for (int purpose : {X509_PURPOSE_SSL_CLIENT, X509_PURPOSE_SSL_SERVER})
    if (auto st = verify_for(store.get(), chain->leaf.get(), rest.get(), purpose, files); !st)
      return st;
  return {};
}

namespace detail {
bool tls_error_queue_guard(); // tls_error_queue.cpp
} // namespace detail

Result<TlsFiles> absolute_tls_files(const TlsFiles& files) {
  // CAF opens these again for every connection, possibly after a chdir.
  std::error_code ec;
  TlsFiles absolute;
  for (auto [from, to] : {std::pair{&files.certificate, &absolute.certificate},
                          std::pair{&files.key, &absolute.key}, std::pair{&files.ca, &absolute.ca}})
    if (*to = fs::absolute(*from, ec); ec)
      return Error{Errc::invalid_argument,
                   "cannot resolve " + from->string() + ": " + ec.message()};
  return absolute;
}

Status point_tls_at(Config& cfg, const TlsFiles& absolute) {
  [[maybe_unused]] static const bool guarded = detail::tls_error_queue_guard();
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

namespace {

Status set_files(Config& cfg, const TlsFiles& files, std::string_view hint) {
  auto absolute = absolute_tls_files(files);
  if (!absolute)
    return absolute.error();
  if (auto st = check_tls_files(*absolute, hint); !st)
    return st;
  return point_tls_at(cfg, *absolute);
}

} // namespace

std::string tls_files_hint(const HomeLayout& home) {
  return "run `banger init --home " + home.home().string() + "` to create it";
}

Status enable_tls(Config& cfg, const HomeLayout& home, TlsRole role) {
  return set_files(cfg, tls_files(home, role), tls_files_hint(home));
}

Status enable_tls_files(Config& cfg, const std::filesystem::path& certificate,
                        const std::filesystem::path& key, const std::filesystem::path& ca) {
  return set_files(cfg, TlsFiles{certificate, key, ca}, tls_explicit_files_hint);
}

} // namespace banger
