#include "messages/tls_credentials.hpp"

#include "messages/interpose.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

namespace banger::tls_credentials {

namespace {

/// What says a file is still the one that was parsed.
struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;

  static Identity of(const struct stat& st) {
    return {st.st_dev, st.st_ino, st.st_size,
            st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
            st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec};
  }
  bool operator==(const Identity& o) const {
    return std::tie(dev, ino, size, mtime_ns, ctime_ns)
           == std::tie(o.dev, o.ino, o.size, o.mtime_ns, o.ctime_ns);
  }
};

template <class T>
struct Entry {
  Identity identity;
  std::shared_ptr<T> value;
};

struct Cache {
  std::mutex mu;
  std::map<std::string, Entry<const Chain>> chains;
  std::map<std::string, Entry<EVP_PKEY>> keys;
  std::map<std::string, Entry<X509_STORE>> stores;
};

Cache& cache() {
  static auto* c = new Cache; // used by interposers until the process ends
  return *c;
}

std::atomic<std::uint64_t> parse_count{0};

std::string openssl_reason(const char* fallback) {
  std::string out = fallback;
  if (unsigned long code = ERR_peek_last_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (reason)
      out = reason;
  }
  ERR_clear_error();
  return out;
}

/// Reads a whole (small) file and the identity of what was read.
bool read_small(const std::string& path, std::string& out, Identity& identity,
                std::string* reason) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (reason)
      *reason = std::strerror(errno);
    return false;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_size > (1 << 20)) {
    if (reason)
      *reason = st.st_size > (1 << 20) ? "too large for a PEM file" : std::strerror(errno);
    ::close(fd);
    return false;
  }
  identity = Identity::of(st);
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t have = 0;
  while (have < out.size()) {
    auto got = ::read(fd, out.data() + have, out.size() - have);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    have += static_cast<std::size_t>(got);
  }
  ::close(fd);
  out.resize(have);
  return true;
}

void wipe(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
}

int no_passphrase(char*, int, int, void*) {
  return -1;
}

std::shared_ptr<X509> own(X509* x) {
  return {x, X509_free};
}

/// The cached value for `path` if the file is unchanged, else `parse`'s.
template <class T, class Parse>
std::shared_ptr<T> lookup(std::map<std::string, Entry<T>>& map, const std::string& path,
                          std::string* reason, Parse parse) {
  struct stat st{};
  bool present = ::stat(path.c_str(), &st) == 0;
  {
    std::lock_guard lock{cache().mu};
    auto it = map.find(path);
    if (present && it != map.end() && it->second.identity == Identity::of(st))
      return it->second.value;
  }
  std::string text;
  Identity identity;
  if (!read_small(path, text, identity, reason))
    return nullptr;
  auto value = parse(text, reason);
  wipe(text);
  if (!value)
    return nullptr;
  ++parse_count;
  std::lock_guard lock{cache().mu};
  map[path] = Entry<T>{identity, value};
  return value;
}

} // namespace

std::shared_ptr<const Chain> chain(const std::string& path, std::string* reason) {
  return lookup(cache().chains, path, reason,
                [](const std::string& text, std::string* why) -> std::shared_ptr<const Chain> {
                  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
                  auto out = std::make_shared<Chain>();
                  // The first one may carry trust settings, as libssl reads it.
                  if (X509* leaf = PEM_read_bio_X509_AUX(bio, nullptr, nullptr, nullptr))
                    out->leaf = own(leaf);
                  while (out->leaf)
                    if (X509* next = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr))
                      out->rest.push_back(own(next));
                    else
                      break;
                  BIO_free(bio);
                  if (!out->leaf) {
                    if (why)
                      *why = openssl_reason("no PEM certificate");
                    return nullptr;
                  }
                  ERR_clear_error(); // the loop ends on a "no start line" error
                  return out;
                });
}

std::shared_ptr<EVP_PKEY> key(const std::string& path, std::string* reason) {
  return lookup(cache().keys, path, reason,
                [](const std::string& text, std::string* why) -> std::shared_ptr<EVP_PKEY> {
                  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
                  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr);
                  BIO_free(bio);
                  if (!k) {
                    if (why)
                      *why = openssl_reason("no PEM private key");
                    return nullptr;
                  }
                  return {k, EVP_PKEY_free};
                });
}

std::shared_ptr<X509_STORE> store(const std::string& path, std::string* reason) {
  return lookup(cache().stores, path, reason,
                [](const std::string& text, std::string* why) -> std::shared_ptr<X509_STORE> {
                  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
                  std::shared_ptr<X509_STORE> out{X509_STORE_new(), X509_STORE_free};
                  int added = 0;
                  while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
                    if (X509_STORE_add_cert(out.get(), ca) == 1)
                      ++added;
                    X509_free(ca);
                  }
                  BIO_free(bio);
                  if (added == 0) {
                    if (why)
                      *why = openssl_reason("no PEM certificate");
                    return nullptr;
                  }
                  ERR_clear_error();
                  return out;
                });
}

std::uint64_t parses() {
  return parse_count.load();
}

} // namespace banger::tls_credentials

// The executable's definitions of libssl's loaders (see the header). Each
// falls back to libssl's own when the cache cannot serve the file, so an
// error is reported exactly as before.
extern "C" {

int SSL_CTX_use_certificate_chain_file(SSL_CTX* ctx, const char* file) {
  static auto next = banger::next_definition<int (*)(SSL_CTX*, const char*)>(
      "SSL_CTX_use_certificate_chain_file");
  auto chain = file ? banger::tls_credentials::chain(file) : nullptr;
  if (!chain)
    return next(ctx, file);
  if (SSL_CTX_use_certificate(ctx, chain->leaf.get()) != 1 || SSL_CTX_clear_chain_certs(ctx) != 1)
    return 0;
  for (const auto& cert : chain->rest)
    if (SSL_CTX_add1_chain_cert(ctx, cert.get()) != 1)
      return 0;
  return 1;
}

int SSL_CTX_use_PrivateKey_file(SSL_CTX* ctx, const char* file, int type) {
  static auto next = banger::next_definition<int (*)(SSL_CTX*, const char*, int)>(
      "SSL_CTX_use_PrivateKey_file");
  auto key = file && type == SSL_FILETYPE_PEM ? banger::tls_credentials::key(file) : nullptr;
  if (!key) {
    ERR_clear_error();
    return next(ctx, file, type);
  }
  return SSL_CTX_use_PrivateKey(ctx, key.get());
}

int SSL_CTX_load_verify_locations(SSL_CTX* ctx, const char* ca_file, const char* ca_path) {
  static auto next = banger::next_definition<int (*)(SSL_CTX*, const char*, const char*)>(
      "SSL_CTX_load_verify_locations");
  bool file_only = ca_file && *ca_file && (ca_path == nullptr || *ca_path == '\0');
  auto store = file_only ? banger::tls_credentials::store(ca_file) : nullptr;
  if (!store) {
    ERR_clear_error();
    return next(ctx, ca_file, ca_path);
  }
  // The store is shared by every context (X509_STORE locks its own state).
  SSL_CTX_set1_cert_store(ctx, store.get());
  return 1;
}

} // extern "C"
