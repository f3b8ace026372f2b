#include "messages/tls_resume.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <vector>

namespace banger::tls_resume {

namespace {

// -- server ------------------------------------------------------------------

struct TicketKeys {
  unsigned char name[16];
  unsigned char aes[32];
  unsigned char hmac[32];
  bool ok = false;
};

const TicketKeys& ticket_keys() {
  static const TicketKeys keys = [] {
    TicketKeys k;
    k.ok = RAND_bytes(k.name, sizeof k.name) == 1 && RAND_bytes(k.aes, sizeof k.aes) == 1
           && RAND_bytes(k.hmac, sizeof k.hmac) == 1;
    return k;
  }();
  return keys;
}

// OpenSSL's ticket key callback: 1 = use these keys, 0 = not ours (full
// handshake), -1 = fail.
int ticket_key(SSL*, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
               EVP_MAC_CTX* mac, int encrypt) {
  const auto& keys = ticket_keys();
  if (!keys.ok)
    return encrypt ? -1 : 0;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(keys.hmac),
                                      sizeof keys.hmac),
    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
    OSSL_PARAM_construct_end()};
  if (encrypt) {
    std::memcpy(name, keys.name, sizeof keys.name);
    if (RAND_bytes(iv, 16) != 1
        || EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, keys.aes, iv) != 1
        || EVP_MAC_CTX_set_params(mac, params) != 1)
      return -1;
    return 1;
  }
  if (std::memcmp(name, keys.name, sizeof keys.name) != 0)
    return 0;
  if (EVP_MAC_CTX_set_params(mac, params) != 1
      || EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, keys.aes, iv) != 1)
    return -1;
  return 1;
}

// A ticket resumes only on the port that issued it: "banger:" + local port.
std::string session_context(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (fd >= 0 && ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    if (addr.ss_family == AF_INET)
      port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    else if (addr.ss_family == AF_INET6)
      port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  }
  return "banger:" + std::to_string(port);
}

// -- client ------------------------------------------------------------------

std::mutex client_mu;
std::string client_path; // guarded by client_mu

std::string current_path() {
  std::lock_guard lock{client_mu};
  return client_path;
}

// A directory of this user's only (created 0700 if missing).
bool private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return false;
  struct stat st{};
  return ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid()
         && (st.st_mode & 077) == 0;
}

std::vector<unsigned char> read_ticket(const std::string& path) {
  std::vector<unsigned char> out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return out;
  struct stat st{};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()
      && st.st_size > 0 && st.st_size <= 16384) {
    out.resize(static_cast<std::size_t>(st.st_size));
    auto got = ::read(fd, out.data(), out.size());
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  ::close(fd);
  return out;
}

// Tickets past their lifetime, and leftovers of a writer that died, from the
// directory of `path`: one file per home and daemon address adds up.
void prune_beside(const std::string& path) {
  auto dir_path = path.substr(0, path.rfind('/'));
  DIR* dir = ::opendir(dir_path.c_str());
  if (dir == nullptr)
    return;
  auto now = ::time(nullptr);
  while (auto* entry = ::readdir(dir)) {
    if (std::strncmp(entry->d_name, "ticket-", 7) != 0)
      continue;
    struct stat st{};
    if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
        && now - st.st_mtime > ticket_lifetime.count())
      ::unlinkat(::dirfd(dir), entry->d_name, 0);
  }
  ::closedir(dir);
}

// OpenSSL's new-session callback: the ticket just received replaces the file
// (a new file renamed over it, so a reader never sees half of one).
int keep_ticket(SSL*, SSL_SESSION* session) {
  auto path = current_path();
  int len = i2d_SSL_SESSION(session, nullptr);
  if (path.empty() || len <= 0 || len > 16384)
    return 0;
  std::vector<unsigned char> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_SSL_SESSION(session, &p);
  auto tmp = path + "." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    bool written = ::write(fd, der.data(), der.size()) == static_cast<ssize_t>(der.size());
    ::close(fd);
    if (!written || ::rename(tmp.c_str(), path.c_str()) != 0)
      ::unlink(tmp.c_str());
  }
  prune_beside(path);
  OPENSSL_cleanse(der.data(), der.size());
  return 0; // OpenSSL keeps its reference
}

} // namespace

void prepare_server(SSL* ssl) {
  if (!SSL_in_before(ssl))
    return;
  // CAF's SSL_CTX belongs to this connection alone, so setting it here
  // touches no other connection.
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key);
  SSL_CTX_set_timeout(ctx, static_cast<long>(ticket_lifetime.count()));
  auto context = session_context(SSL_get_fd(ssl));
  SSL_set_session_id_context(ssl, reinterpret_cast<const unsigned char*>(context.data()),
                             static_cast<unsigned int>(context.size()));
  SSL_set_num_tickets(ssl, 1);
}

std::string client_ticket_path(const std::string& key) {
  if (const char* off = std::getenv("BANGER_TLS_RESUME"); off && std::string_view{off} == "0")
    return {};
  // <base>/banger may be shared with other caches (the image builder's, made
  // 0755): the tickets get a directory of their own, 0700.
  std::string base; // $XDG_RUNTIME_DIR, else $XDG_CACHE_HOME, else ~/.cache
  if (const char* run = std::getenv("XDG_RUNTIME_DIR"); run && *run == '/') {
    base = run;
  } else if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache == '/') {
    base = cache;
  } else {
    const char* home = std::getenv("HOME");
    if (!home || *home != '/') {
      auto* pw = ::getpwuid(::geteuid());
      home = pw ? pw->pw_dir : nullptr;
    }
    if (!home || *home != '/')
      return {};
    base = std::string(home) + "/.cache";
  }
  auto banger_dir = base + "/banger";
  for (const auto& made : {base, banger_dir})
    if (::mkdir(made.c_str(), 0700) != 0 && errno != EEXIST)
      return {};
  auto dir = banger_dir + "/tls";
  if (!private_dir(dir))
    return {};
  // FNV-1a of the key: a file name for any home path and address.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key)
    h = (h ^ c) * 1099511628211ULL;
  char name[40];
  std::snprintf(name, sizeof name, "/ticket-%016llx", static_cast<unsigned long long>(h));
  return dir + name;
}

void enable_client(const std::string& path) {
  std::lock_guard lock{client_mu};
  client_path = path;
}

void prepare_client(SSL* ssl) {
  if (!SSL_in_before(ssl))
    return;
  auto path = current_path();
  if (path.empty())
    return;
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl); // this connection's alone, as above
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, keep_ticket);
  auto der = read_ticket(path);
  if (der.empty())
    return;
  const unsigned char* p = der.data();
  SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(der.size()));
  OPENSSL_cleanse(der.data(), der.size());
  if (session == nullptr) {
    ERR_clear_error();
    return;
  }
  if (SSL_SESSION_is_resumable(session))
    SSL_set_session(ssl, session);
  SSL_SESSION_free(session);
}

bool resumed(const SSL* ssl) {
  return SSL_session_reused(ssl) == 1;
}

} // namespace banger::tls_resume
