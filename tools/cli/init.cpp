// `banger init`. Sections: settings (keys, values, banger.conf), files
// (directories, atomic writes), PKI (libcrypto), SSH key (ssh-keygen), and
// init_home, which strings them together.
//
// FIXME: past the style guide's ~400 lines; split into init_settings.cpp,
// init_files.cpp and init_pki.cpp once tools/cli/ has more than this target.
#include "tools/cli/init.hpp"

#include "messages/home_layout.hpp"
#include "messages/openssl_ptr.hpp"
#include "messages/tls.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>

namespace banger {

namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

/// "No group change" for fchown and the like.
constexpr gid_t no_group = static_cast<gid_t>(-1);

Error invalid(std::string message) {
  return Error{Errc::invalid_argument, std::move(message)};
}

// -- settings -----------------------------------------------------------------

std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > max)
    return std::nullopt;
  return value;
}

Status one_of(std::string_view key, std::string_view value,
              std::initializer_list<std::string_view> allowed, std::string& out) {
  for (auto candidate : allowed)
    if (value == candidate) {
      out = std::string(value);
      return {};
    }
  std::string list;
  for (auto candidate : allowed)
    list += (list.empty() ? "" : ", ") + std::string(candidate);
  return invalid(std::string(key) + ": '" + std::string(value) + "' is not one of " + list);
}

Status port_value(std::string_view key, std::string_view value, std::uint16_t& out) {
  auto n = parse_uint(value, 65535);
  if (!n || *n == 0)
    return invalid(std::string(key) + ": '" + std::string(value) +
                   "' is not a port number (1-65535)");
  out = static_cast<std::uint16_t>(*n);
  return {};
}

Status path_value(std::string_view key, std::string_view value, bool may_be_empty,
                  std::string& out) {
  if (value.empty() && may_be_empty) {
    out.clear();
    return {};
  }
  if (value.empty() || value.front() != '/')
    return invalid(std::string(key) + ": '" + std::string(value) + "' is not an absolute path");
  out = std::string(value);
  return {};
}

// CAF timespan syntax restricted to what makes sense for a grace period.
Status duration_value(std::string_view key, std::string_view value,
                      std::chrono::milliseconds& out) {
  auto digits = value.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos)
    return invalid(std::string(key) + ": '" + std::string(value) +
                   "' is not a duration such as 500ms, 30s, 2min or 1h");
  auto unit = value.substr(digits);
  std::uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "min")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  constexpr std::uint64_t day_ms = 86'400'000;
  auto n = parse_uint(value.substr(0, digits), day_ms);
  if (scale == 0 || !n || *n * scale > day_ms)
    return invalid(std::string(key) + ": '" + std::string(value) +
                   "' is not a duration between 0ms and 24h (units: ms, s, min, h)");
  out = std::chrono::milliseconds(static_cast<std::int64_t>(*n * scale));
  return {};
}

Status ip_value(std::string_view key, std::string_view value, std::string& out) {
  unsigned char buf[sizeof(in6_addr)];
  std::string text(value);
  if (inet_pton(AF_INET, text.c_str(), buf) != 1 && inet_pton(AF_INET6, text.c_str(), buf) != 1)
    return invalid(std::string(key) + ": '" + text + "' is not an IPv4 or IPv6 address");
  out = text;
  return {};
}

Status subnet_value(std::string_view key, std::string_view value, std::string& out) {
  auto fail = [&] {
    return invalid(std::string(key) + ": '" + std::string(value) +
                   "' is not an IPv4 network such as 172.30.0.0/24 (prefix 1-30)");
  };
  auto slash = value.find('/');
  if (slash == std::string_view::npos)
    return fail();
  auto prefix = parse_uint(value.substr(slash + 1), 30);
  in_addr addr{};
  std::string ip(value.substr(0, slash));
  if (!prefix || *prefix == 0 || inet_pton(AF_INET, ip.c_str(), &addr) != 1)
    return fail();
  std::uint32_t host_bits = ~std::uint32_t{0} >> *prefix;
  if ((ntohl(addr.s_addr) & host_bits) != 0)
    return invalid(std::string(key) + ": '" + std::string(value) +
                   "' has host bits set; use the network address");
  out = std::string(value);
  return {};
}

Status ifname_value(std::string_view key, std::string_view value, std::string& out) {
  bool ok = !value.empty() && value.size() <= 15 && value != "." && value != "..";
  for (char c : value)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok)
    return invalid(std::string(key) + ": '" + std::string(value) +
                   "' is not an interface name (1-15 of [A-Za-z0-9._-])");
  out = std::string(value);
  return {};
}

Status user_value(std::string_view key, std::string_view value, std::string& out) {
  bool ok = value.size() <= 32;
  for (char c : value)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (!ok)
    return invalid(std::string(key) + ": '" + std::string(value) +
                   "' is not a user name or uid");
  out = std::string(value);
  return {};
}

struct SettingKey {
  const char* name;
  Status (*set)(Settings&, std::string_view key, std::string_view value);
};

// Every key of Settings, in render_config order. parse_config_text(
// render_config(Settings{})) is tested to succeed: a key added to Settings
// and render_config but not here fails that test.
const SettingKey setting_table[] = {
  {"daemon.listen", [](Settings& s, auto k, auto v) { return ip_value(k, v, s.daemon_listen); }},
  {"daemon.port", [](Settings& s, auto k, auto v) { return port_value(k, v, s.daemon_port); }},
  {"daemon.log-level",
   [](Settings& s, auto k, auto v) {
     return one_of(k, v, {"debug", "info", "warn", "error"}, s.daemon_log_level);
   }},
  {"daemon.vm-queue",
   [](Settings& s, auto k, auto v) -> Status {
     auto n = parse_uint(v, 1'000'000);
     if (!n || *n == 0)
       return invalid(std::string(k) + ": '" + std::string(v) + "' is not a count (1-1000000)");
     s.daemon_vm_queue = static_cast<std::uint32_t>(*n);
     return {};
   }},
  {"helper.port", [](Settings& s, auto k, auto v) { return port_value(k, v, s.helper_port); }},
  {"vmm.kind",
   [](Settings& s, auto k, auto v) { return one_of(k, v, {"firecracker", "qemu"}, s.vmm_kind); }},
  {"vmm.firecracker-bin",
   [](Settings& s, auto k, auto v) { return path_value(k, v, false, s.vmm_firecracker_bin); }},
  {"vmm.jailer-bin",
   [](Settings& s, auto k, auto v) { return path_value(k, v, true, s.vmm_jailer_bin); }},
  {"vmm.qemu-bin",
   [](Settings& s, auto k, auto v) { return path_value(k, v, false, s.vmm_qemu_bin); }},
  {"vmm.accel",
   [](Settings& s, auto k, auto v) { return one_of(k, v, {"auto", "kvm", "tcg"}, s.vmm_accel); }},
  {"vmm.user", [](Settings& s, auto k, auto v) { return user_value(k, v, s.vmm_user); }},
  {"vmm.stop-grace",
   [](Settings& s, auto k, auto v) { return duration_value(k, v, s.vmm_stop_grace); }},
  {"vmm.kill-grace",
   [](Settings& s, auto k, auto v) { return duration_value(k, v, s.vmm_kill_grace); }},
  {"vmm.boot-timeout",
   [](Settings& s, auto k, auto v) { return duration_value(k, v, s.vmm_boot_timeout); }},
  {"network.bridge",
   [](Settings& s, auto k, auto v) { return ifname_value(k, v, s.network_bridge); }},
  {"network.subnet",
   [](Settings& s, auto k, auto v) { return subnet_value(k, v, s.network_subnet); }},
  {"network.nat",
   [](Settings& s, auto k, auto v) -> Status {
     if (v != "true" && v != "false")
       return invalid(std::string(k) + ": '" + std::string(v) + "' is not true or false");
     s.network_nat = v == "true";
     return {};
   }},
  {"rootfs.strategy",
   [](Settings& s, auto k, auto v) {
     return one_of(k, v, {"auto", "reflink", "dm-snapshot", "copy"}, s.rootfs_strategy);
   }},
};

std::string_view trim(std::string_view s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos)
    return {};
  auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// A quoted config value with \" and \\ escapes; nullopt if malformed.
std::optional<std::string> unquote(std::string_view text) {
  std::string out;
  std::size_t i = 1;
  for (; i < text.size() && text[i] != '"'; ++i) {
    if (text[i] == '\\') {
      if (++i == text.size())
        return std::nullopt;
    }
    out.push_back(text[i]);
  }
  if (i >= text.size())
    return std::nullopt;
  auto rest = trim(text.substr(i + 1));
  if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
    return std::nullopt;
  return out;
}

// Cross-key checks once every option is applied.
Status check_settings(const Settings& s) {
  if (s.daemon_port == s.helper_port)
    return invalid("daemon.port and helper.port are both " + std::to_string(s.daemon_port));
  return {};
}

// Applies vmm_kind, port, then sets, in that order (a --set wins).
Status apply_options(Settings& settings, const InitOptions& options) {
  if (!options.vmm_kind.empty())
    if (auto st = apply_setting(settings, "vmm.kind", options.vmm_kind); !st)
      return Error{Errc::invalid_argument, "--vmm: " + st.error().message};
  if (options.port != 0) {
    if (options.port == 65535)
      return invalid("--port 65535 leaves no port for the helper (port + 1)");
    settings.daemon_port = options.port;
    settings.helper_port = static_cast<std::uint16_t>(options.port + 1);
  }
  for (const auto& assignment : options.sets) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid("--set '" + assignment + "': expected KEY=VALUE");
    if (auto st = apply_setting(settings, std::string_view(assignment).substr(0, eq),
                                std::string_view(assignment).substr(eq + 1));
        !st)
      return Error{Errc::invalid_argument, "--set " + st.error().message};
  }
  return check_settings(settings);
}

// -- files --------------------------------------------------------------------

Result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    return Error{Errc::internal, "RAND_bytes failed: no entropy source"};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : raw) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  OPENSSL_cleanse(raw.data(), raw.size());
  return out;
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

/// The home, what init writes there and how, and what it did so far.
struct Context {
  explicit Context(fs::path home) : layout(std::move(home)) {}

  HomeLayout layout;
  bool force = false;
  gid_t client_group = no_group; ///< -1: no daemon group
  std::string client_group_name;
  InitReport report;

  std::string relative(const fs::path& path) const {
    return path.lexically_relative(layout.home()).string();
  }
  void record(const fs::path& path, InitAction action, std::string note) {
    report.entries.push_back({relative(path), action, std::move(note)});
  }
};

// Directories: created with their mode; an existing one must be a real
// directory owned by this user, and loses any permission bit beyond `mode`.
Status ensure_dir(Context& ctx, const fs::path& path, mode_t mode) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return system_error("lstat", path.string(), errno);
    if (::mkdir(path.c_str(), mode) != 0)
      return system_error("mkdir", path.string(), errno);
    if (::chmod(path.c_str(), mode) != 0) // mkdir's mode went through the umask
      return system_error("chmod", path.string(), errno);
    ctx.record(path, InitAction::created, "mode " + octal(mode));
    return {};
  }
  if (!S_ISDIR(st.st_mode))
    return invalid(path.string() + " exists and is not a directory (symlinks are refused)");
  if (st.st_uid != ::geteuid())
    return invalid(path.string() + " is owned by uid " + std::to_string(st.st_uid) +
                   ", not by this user (uid " + std::to_string(::geteuid()) +
                   "); run banger init as the user bangerd runs as");
  auto current = st.st_mode & 07777;
  if ((current & ~mode) != 0) {
    if (::chmod(path.c_str(), current & mode) != 0)
      return system_error("chmod", path.string(), errno);
    ctx.record(path, InitAction::kept,
               "mode narrowed " + octal(current) + " -> " + octal(current & mode));
  } else {
    ctx.record(path, InitAction::kept, "mode " + octal(current));
  }
  return {};
}

bool exists_no_follow(const fs::path& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

Status write_all(int fd, const void* data, std::size_t size, const fs::path& path) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return system_error("write", path.string(), errno);
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

// Writes `path` atomically: a fresh temporary file in the same directory gets
// its owner group and final mode *before* any byte is written (so a secret
// never sits in a file with a wider mode), is filled and fsynced, then renamed
// over `path`; the directory is fsynced so the rename survives a crash.
Status write_atomic(const fs::path& path, mode_t mode, gid_t group,
                    const std::function<Status(int fd)>& fill) {
  auto suffix = random_hex(6);
  if (!suffix)
    return std::move(suffix).error();
  auto tmp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + *suffix);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  mode & 0700);
  if (fd < 0)
    return system_error("open", tmp.string(), errno);
  auto fail = [&](Error error) -> Status {
    ::close(fd);
    ::unlink(tmp.c_str());
    return error;
  };
  if (group != no_group && ::fchown(fd, static_cast<uid_t>(-1), group) != 0)
    return fail(system_error("fchown", tmp.string() + " (group " + std::to_string(group) +
                                         "; init must run as a member of that group or root)",
                             errno));
  if (::fchmod(fd, mode) != 0)
    return fail(system_error("fchmod", tmp.string(), errno));
  if (auto st = fill(fd); !st)
    return fail(std::move(st).error());
  if (::fsync(fd) != 0)
    return fail(system_error("fsync", tmp.string(), errno));
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return system_error("close", tmp.string(), err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return system_error("rename", path.string(), err);
  }
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return system_error("open", path.parent_path().string(), errno);
  int rc = ::fsync(dir);
  int err = errno;
  ::close(dir);
  if (rc != 0)
    return system_error("fsync", path.parent_path().string(), err);
  return {};
}

Status write_atomic(const fs::path& path, mode_t mode, gid_t group, const void* data,
                    std::size_t size) {
  return write_atomic(path, mode, group,
                      [&](int fd) { return write_all(fd, data, size, path); });
}

// A file init keeps: it must be a regular file owned by this user. Bits beyond
// `narrow_to` are removed (content untouched); when `group` is given the file
// gets that group and exactly `group_mode`.
Status keep_file(Context& ctx, const fs::path& path, mode_t narrow_to, gid_t group = no_group,
                 mode_t group_mode = 0) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return system_error("open", path.string() + " (symlinks are refused)", errno);
  struct stat st{};
  auto done = [&](Status st) {
    ::close(fd);
    return st;
  };
  if (::fstat(fd, &st) != 0)
    return done(system_error("fstat", path.string(), errno));
  if (!S_ISREG(st.st_mode))
    return done(invalid(path.string() + " is not a regular file"));
  if (st.st_uid != ::geteuid())
    return done(invalid(path.string() + " is owned by uid " + std::to_string(st.st_uid) +
                        ", not by this user; run banger init as the user bangerd runs as"));
  mode_t current = st.st_mode & 07777;
  std::string note = "mode " + octal(current);
  if (group != no_group) {
    if (st.st_gid != group && ::fchown(fd, static_cast<uid_t>(-1), group) != 0)
      return done(system_error("fchown", path.string(), errno));
    if (current != group_mode && ::fchmod(fd, group_mode) != 0)
      return done(system_error("fchmod", path.string(), errno));
    if (st.st_gid != group || current != group_mode)
      note = "mode " + octal(current) + " -> " + octal(group_mode) + ", group " +
             ctx.client_group_name;
  } else if ((current & ~narrow_to) != 0) {
    if (::fchmod(fd, current & narrow_to) != 0)
      return done(system_error("fchmod", path.string(), errno));
    note = "mode narrowed " + octal(current) + " -> " + octal(current & narrow_to);
  }
  ctx.record(path, InitAction::kept, note);
  return done({});
}

Result<std::string> read_small_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return system_error("open", path.string(), errno);
  std::string out;
  char chunk[4096];
  for (;;) {
    auto n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return system_error("read", path.string(), err);
    }
    if (n == 0)
      break;
    out.append(chunk, static_cast<std::size_t>(n));
    if (out.size() > (1 << 20)) {
      ::close(fd);
      return invalid(path.string() + " is unexpectedly large");
    }
  }
  OPENSSL_cleanse(chunk, sizeof(chunk));
  ::close(fd);
  return out;
}

// -- PKI ----------------------------------------------------------------------

using namespace banger::ssl;

constexpr int ca_days = 3650;  // 10 years
constexpr int leaf_days = 730; // 2 years

Error crypto_error(std::string what) {
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

Result<PKeyPtr> generate_key() {
  PKeyPtr key{EVP_EC_gen("P-256")};
  if (!key)
    return crypto_error("cannot generate an EC P-256 key");
  return key;
}

Status add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3{};
  X509V3_set_ctx(&v3, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  ExtPtr ext{X509V3_EXT_conf_nid(nullptr, &v3, nid, value)};
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return crypto_error("cannot add certificate extension "s + OBJ_nid2sn(nid) + "=" + value);
  return {};
}

struct CertSpec {
  std::string common_name;
  bool ca = false;
  int days = leaf_days;
};

// Issues a certificate for `key`, signed by `issuer_key` under `issuer`, or
// self-signed when `issuer` is null.
Result<X509Ptr> make_certificate(const CertSpec& spec, EVP_PKEY* key, X509* issuer,
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

  std::vector<std::pair<int, const char*>> exts;
  if (spec.ca) {
    exts = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
            {NID_key_usage, "critical,keyCertSign,cRLSign"},
            {NID_subject_key_identifier, "hash"},
            {NID_authority_key_identifier, "keyid:always"}};
  } else {
    // CAF connects in both directions with the same certificate, so every
    // leaf is valid as TLS server and as TLS client. CAF checks no names;
    // the SAN is there for tools that do.
    exts = {{NID_basic_constraints, "critical,CA:FALSE"},
            {NID_key_usage, "critical,digitalSignature"},
            {NID_ext_key_usage, "serverAuth,clientAuth"},
            {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
            {NID_subject_key_identifier, "hash"},
            {NID_authority_key_identifier, "keyid:always"}};
  }
  for (auto [nid, value] : exts)
    if (auto st = add_ext(cert.get(), issuer, nid, value); !st)
      return std::move(st).error();
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
    return crypto_error("cannot sign certificate " + spec.common_name);
  return cert;
}

Result<X509Ptr> load_certificate(const fs::path& path) {
  auto text = read_small_file(path);
  if (!text)
    return std::move(text).error();
  BioPtr bio{BIO_new_mem_buf(text->data(), static_cast<int>(text->size()))};
  X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  ERR_clear_error();
  if (!cert)
    return invalid(path.string() + " is not a PEM certificate; run banger init --force to "
                                   "regenerate the TLS material");
  return cert;
}

Result<PKeyPtr> load_key(const fs::path& path) {
  auto text = read_small_file(path);
  if (!text)
    return std::move(text).error();
  BioPtr bio{BIO_new_mem_buf(text->data(), static_cast<int>(text->size()))};
  PKeyPtr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)};
  OPENSSL_cleanse(text->data(), text->size());
  ERR_clear_error();
  if (!key)
    return invalid(path.string() + " is not an unencrypted PEM private key; run banger init "
                                   "--force to regenerate the TLS material");
  return key;
}

// The checks libssl will make when CAF connects: key matches, chains to the
// CA for both directions, within validity.
Status check_leaf(X509* ca, X509* leaf, EVP_PKEY* key, const std::string& name) {
  if (X509_check_private_key(leaf, key) != 1) {
    ERR_clear_error();
    return invalid("tls/" + name + ".key does not belong to tls/" + name +
                   ".pem; run banger init --force to regenerate the TLS material");
  }
  StorePtr store{X509_STORE_new()};
  if (!store || X509_STORE_add_cert(store.get(), ca) != 1)
    return crypto_error("cannot build a certificate store");
  for (int purpose : {X509_PURPOSE_SSL_CLIENT, X509_PURPOSE_SSL_SERVER}) {
    StoreCtxPtr vctx{X509_STORE_CTX_new()};
    if (!vctx || X509_STORE_CTX_init(vctx.get(), store.get(), leaf, nullptr) != 1)
      return crypto_error("cannot set up verification");
    X509_STORE_CTX_set_purpose(vctx.get(), purpose);
    if (X509_verify_cert(vctx.get()) != 1) {
      auto reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx.get()));
      ERR_clear_error();
      return invalid("tls/" + name + ".pem does not verify against tls/ca.pem (" + reason +
                     "); run banger init --force to regenerate the TLS material");
    }
  }
  return {};
}

Status write_certificate(const fs::path& path, X509* cert) {
  BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    return crypto_error("cannot encode " + path.string());
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  return write_atomic(path, 0644, no_group, data, static_cast<std::size_t>(size));
}

// PKCS#8 PEM, unencrypted (the files' modes protect them), encoded in
// OpenSSL's secure heap, which is wiped when freed.
Status write_key(const fs::path& path, EVP_PKEY* key, mode_t mode, gid_t group) {
  BioPtr bio{BIO_new(BIO_s_secmem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return crypto_error("cannot encode " + path.string());
  char* data = nullptr;
  auto size = BIO_get_mem_data(bio.get(), &data);
  return write_atomic(path, mode, group, data, static_cast<std::size_t>(size));
}

InitAction fresh(const Context& ctx, const fs::path& path) {
  return ctx.force && exists_no_follow(path) ? InitAction::replaced : InitAction::created;
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
                 (leaf.key_group != no_group ? ", group " + ctx.client_group_name
                                                           : ""));
  }
  auto cert = make_certificate({"banger-" + leaf.name, false, leaf_days}, key, ca, ca_key);
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
  auto ca_key = generate_key();
  if (!ca_key)
    return std::move(ca_key).error();
  // A per-home name: two homes' CAs never look alike, even by name.
  auto ca_id = random_hex(4);
  if (!ca_id)
    return std::move(ca_id).error();
  auto ca = make_certificate({"banger CA " + *ca_id, true, ca_days}, ca_key->get(), nullptr,
                             nullptr);
  if (!ca)
    return std::move(ca).error();
  // The key first: a crash in between leaves a key without a certificate,
  // which the next run reports instead of silently pairing wrong files.
  auto key_action = fresh(ctx, ca_key_path);
  if (auto st = write_key(ca_key_path, ca_key->get(), 0400, no_group); !st)
    return st;
  ctx.record(ca_key_path, key_action, "mode 0400");
  auto pem_action = fresh(ctx, ca_pem);
  if (auto st = write_certificate(ca_pem, ca->get()); !st)
    return st;
  ctx.record(ca_pem, pem_action, "self-signed CA, EC P-256, 10 years");
  for (const auto& leaf : leaves(ctx)) {
    auto key = generate_key();
    if (!key)
      return std::move(key).error();
    if (auto st = issue_leaf(ctx, leaf, ca->get(), ca_key->get(), key->get(), true); !st)
      return st;
  }
  return {};
}

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
    if (X509_check_private_key(ca->get(), key->get()) != 1) {
      ERR_clear_error();
      return invalid("tls/ca.key does not belong to tls/ca.pem; run banger init --force to "
                     "regenerate all TLS material");
    }
    ca_key = std::move(*key);
    if (auto st = keep_file(ctx, ca_key_path, 0400); !st)
      return st;
  }
  if (auto st = keep_file(ctx, ca_pem, 0644); !st)
    return st;

  for (const auto& leaf : leaves(ctx)) {
    auto files = tls_files(ctx.layout, leaf.role);
    bool have_cert = exists_no_follow(files.certificate);
    bool have_key = exists_no_follow(files.key);
    if (have_cert && !have_key)
      return invalid(files.certificate.string() + " exists without its key; run banger init "
                                                  "--force to regenerate the TLS material");
    if (!have_cert && !ca_key)
      return invalid("cannot issue tls/" + leaf.name + ".pem: tls/ca.key is missing (keep the "
                     "CA key next to ca.pem while running init, or use --force)");
    PKeyPtr key;
    if (have_key) {
      auto loaded = load_key(files.key);
      if (!loaded)
        return std::move(loaded).error();
      key = std::move(*loaded);
      if (auto st = keep_file(ctx, files.key, leaf.key_narrow, leaf.key_group, leaf.key_mode);
          !st)
        return st;
    } else {
      auto made = generate_key();
      if (!made)
        return std::move(made).error();
      key = std::move(*made);
    }
    if (have_cert) {
      auto cert = load_certificate(files.certificate);
      if (!cert)
        return std::move(cert).error();
      if (auto st = check_leaf(ca->get(), cert->get(), key.get(), leaf.name); !st)
        return st;
      if (auto st = keep_file(ctx, files.certificate, 0644); !st)
        return st;
      continue;
    }
    // A key without its certificate (e.g. a crash between the two writes):
    // certify the existing key rather than replace it.
    if (auto st = issue_leaf(ctx, leaf, ca->get(), ca_key.get(), key.get(), !have_key); !st)
      return st;
  }
  return {};
}

// -- helper token ----------------------------------------------------------------

Status init_token(Context& ctx) {
  auto path = ctx.layout.state_dir() / "helper.token";
  if (!ctx.force && exists_no_follow(path)) {
    auto text = read_small_file(path);
    if (!text)
      return std::move(text).error();
    bool ok = text->size() == 64 && text->find_first_not_of("0123456789abcdef") == std::string::npos;
    OPENSSL_cleanse(text->data(), text->size());
    if (!ok)
      return invalid(path.string() + " is not 64 lowercase hex digits; run banger init --force");
    return keep_file(ctx, path, 0600);
  }
  auto action = fresh(ctx, path);
  auto token = random_hex(32);
  if (!token)
    return std::move(token).error();
  auto st = write_atomic(path, 0600, no_group, token->data(), token->size());
  OPENSSL_cleanse(token->data(), token->size());
  if (!st)
    return st;
  ctx.record(path, action, "mode 0600, 32 random bytes");
  return {};
}

// -- SSH key ------------------------------------------------------------------

Result<std::string> find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream in(dirs);
  for (std::string dir; std::getline(in, dir, ':');) {
    auto candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return Error{Errc::invalid_argument,
               program + " not found in PATH (install the openssh-client package)"};
}

// Runs ssh-keygen with stdin from /dev/null, stdout to `out_fd` (or
// /dev/null), stderr captured for the error message.
Status run_ssh_keygen(std::vector<std::string> args, int out_fd = -1) {
  auto bin = find_in_path("ssh-keygen");
  if (!bin)
    return std::move(bin).error();
  args.insert(args.begin(), *bin);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return system_error("pipe2", "", errno);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) {
    int err = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return system_error("open", "/dev/null", err);
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(devnull, 0);
    ::dup2(out_fd >= 0 ? out_fd : devnull, 1);
    ::dup2(err_pipe[1], 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(err_pipe[1]);
  ::close(devnull);
  if (pid < 0) {
    ::close(err_pipe[0]);
    return system_error("fork", "ssh-keygen", fork_errno);
  }
  std::string errors;
  char chunk[1024];
  for (;;) {
    auto n = ::read(err_pipe[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (errors.size() < 4096)
      errors.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return system_error("waitpid", "ssh-keygen", errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return {};
  while (!errors.empty() && (errors.back() == '\n' || errors.back() == '\r'))
    errors.pop_back();
  return Error{Errc::internal, "ssh-keygen failed (" +
                                (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                   : "signal " + std::to_string(WTERMSIG(status))) +
                                ")" + (errors.empty() ? "" : ": " + errors)};
}

Status fsync_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return system_error("open", path.string(), errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status{} : system_error("fsync", path.string(), err);
}

// banger's SSH key for guests. ssh-keygen writes OpenSSH's format (0600 /
// 0644) into a private temporary directory; the files are then renamed into
// place, private key first, so a crash never leaves a public key that
// belongs to no private key next to a kept one.
Status init_ssh(Context& ctx) {
  auto dir = ctx.layout.ssh_dir();
  auto priv = dir / "id_ed25519";
  auto pub = dir / "id_ed25519.pub";
  if (!ctx.force && exists_no_follow(priv)) {
    if (auto st = keep_file(ctx, priv, 0600); !st)
      return st;
    if (exists_no_follow(pub))
      return keep_file(ctx, pub, 0644);
    auto st = write_atomic(pub, 0644, no_group, [&](int fd) {
      return run_ssh_keygen({"-y", "-f", priv.string()}, fd);
    });
    if (!st)
      return st;
    ctx.record(pub, InitAction::created, "derived from the kept private key");
    return {};
  }
  auto priv_action = fresh(ctx, priv);
  // Without force, a public key with no private key is useless: replace it.
  auto pub_action = exists_no_follow(pub) ? InitAction::replaced : InitAction::created;
  std::string templ = (dir / ".keygen-XXXXXX").string();
  if (!::mkdtemp(templ.data()))
    return system_error("mkdtemp", templ, errno);
  fs::path tmp = templ;
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(tmp, ec);
  };
  auto tmp_priv = tmp / "id_ed25519";
  auto tmp_pub = tmp / "id_ed25519.pub";
  auto st = run_ssh_keygen({"-q", "-t", "ed25519", "-N", "", "-C", "banger", "-f",
                            tmp_priv.string()});
  // ssh-keygen's modes went through the umask; the private key was never
  // wider than 0600 and the directory is 0700.
  if (st && ::chmod(tmp_priv.c_str(), 0600) != 0)
    st = system_error("chmod", tmp_priv.string(), errno);
  if (st && ::chmod(tmp_pub.c_str(), 0644) != 0)
    st = system_error("chmod", tmp_pub.string(), errno);
  if (st)
    st = fsync_file(tmp_priv);
  if (st)
    st = fsync_file(tmp_pub);
  if (st && ::rename(tmp_priv.c_str(), priv.c_str()) != 0)
    st = system_error("rename", priv.string(), errno);
  if (st && ::rename(tmp_pub.c_str(), pub.c_str()) != 0)
    st = system_error("rename", pub.string(), errno);
  cleanup();
  if (!st)
    return st;
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  ctx.record(priv, priv_action, "ed25519, mode 0600");
  ctx.record(pub, pub_action, "mode 0644");
  return {};
}

// -- banger.conf ----------------------------------------------------------------

Status init_config(Context& ctx, const InitOptions& options, const Settings& settings,
                   const std::optional<std::string>& existing) {
  auto path = ctx.layout.config_file();
  auto text = render_config(settings);
  bool explicit_options =
    !options.vmm_kind.empty() || options.port != 0 || !options.sets.empty();
  if (existing && ((!ctx.force && !explicit_options) || *existing == text))
    return keep_file(ctx, path, 0644);
  if (auto st = write_atomic(path, 0644, no_group, text.data(), text.size()); !st)
    return st;
  if (!existing)
    ctx.record(path, InitAction::created, "mode 0644");
  else if (ctx.force)
    ctx.record(path, InitAction::replaced, "rewritten from defaults + options");
  else
    ctx.record(path, InitAction::updated, "options merged into the existing values");
  return {};
}

Result<gid_t> resolve_group(const std::string& group) {
  if (auto n = parse_uint(group, 0x7fffffff))
    return static_cast<gid_t>(*n);
  std::vector<char> buf(16384);
  struct group entry{};
  struct group* found = nullptr;
  int rc = ::getgrnam_r(group.c_str(), &entry, buf.data(), buf.size(), &found);
  if (rc != 0)
    return system_error("getgrnam_r", group, rc);
  if (!found)
    return invalid("--daemon-group: no such group '" + group + "'");
  return found->gr_gid;
}

} // namespace

// -- public -------------------------------------------------------------------

std::string_view to_string(InitAction action) {
  switch (action) {
    case InitAction::created:
      return "created";
    case InitAction::kept:
      return "kept";
    case InitAction::updated:
      return "updated";
    case InitAction::replaced:
      return "replaced";
  }
  return "unknown";
}

std::string InitReport::render() const {
  std::size_t width = 0;
  for (const auto& e : entries)
    width = std::max(width, e.path.size());
  std::string out;
  for (const auto& e : entries) {
    auto action = std::string(to_string(e.action));
    out += action + std::string(10 - action.size(), ' ') + e.path;
    if (!e.note.empty())
      out += std::string(width - e.path.size() + 2, ' ') + "(" + e.note + ")";
    out += "\n";
  }
  return out;
}

const InitEntry* InitReport::find(std::string_view path) const {
  for (const auto& e : entries)
    if (e.path == path)
      return &e;
  return nullptr;
}

Status apply_setting(Settings& settings, std::string_view key, std::string_view value) {
  for (char c : value)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return invalid(std::string(key) + ": control characters are not allowed in values");
  for (const auto& entry : setting_table)
    if (key == entry.name)
      return entry.set(settings, key, value);
  std::string known;
  for (const auto& entry : setting_table)
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  return invalid("unknown setting '" + std::string(key) + "' (known: " + known + ")");
}

std::vector<std::string> setting_keys() {
  std::vector<std::string> out;
  for (const auto& entry : setting_table)
    out.emplace_back(entry.name);
  return out;
}

Result<Settings> parse_config_text(std::string_view text, Settings base) {
  std::string section;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    auto where = "line " + std::to_string(line_no) + ": ";
    if (line.empty() || line.front() == '#' || line.front() == ';')
      continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return invalid(where + "malformed section header");
      section = std::string(trim(line.substr(1, line.size() - 2)));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      return invalid(where + "expected key=value");
    auto key = std::string(trim(line.substr(0, eq)));
    auto raw = trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && raw.front() == '"') {
      auto unquoted = unquote(raw);
      if (!unquoted)
        return invalid(where + "malformed quoted string");
      value = std::move(*unquoted);
    } else {
      value = std::string(raw);
    }
    auto full = section.empty() ? key : section + "." + key;
    if (auto st = apply_setting(base, full, value); !st)
      return invalid(where + st.error().message);
  }
  return base;
}

Result<InitOptions> parse_init_args(const std::vector<std::string>& args) {
  InitOptions out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto take = [&]() -> Result<std::string> {
      if (value)
        return *value;
      if (i + 1 >= args.size())
        return invalid(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--force" && !value) {
      out.force = true;
    } else if (flag == "--vmm" || flag == "--port" || flag == "--set" ||
               flag == "--daemon-group") {
      auto v = take();
      if (!v)
        return std::move(v).error();
      if (flag == "--vmm") {
        Settings scratch;
        if (auto st = apply_setting(scratch, "vmm.kind", *v); !st)
          return invalid("--vmm: " + st.error().message);
        out.vmm_kind = *v;
      } else if (flag == "--port") {
        auto n = parse_uint(*v, 65534);
        if (!n || *n == 0)
          return invalid("--port: '" + *v + "' is not a port number (1-65534; the helper "
                                            "uses port + 1)");
        out.port = static_cast<std::uint16_t>(*n);
      } else if (flag == "--set") {
        out.sets.push_back(*v);
      } else {
        out.daemon_group = *v;
      }
    } else {
      return invalid("banger init: unknown argument '" + args[i] +
                     "' (expected --vmm, --port, --set, --force, --daemon-group)");
    }
  }
  return out;
}

Result<InitReport> init_home(const InitOptions& options) {
  if (options.home.empty())
    return invalid("banger init: no home directory given");
  Context ctx{options.home};
  ctx.force = options.force;

  // Everything that can be refused is checked before the first write.
  if (!options.daemon_group.empty()) {
    auto gid = resolve_group(options.daemon_group);
    if (!gid)
      return std::move(gid).error();
    ctx.client_group = *gid;
    ctx.client_group_name = options.daemon_group;
  }
  std::optional<std::string> existing;
  if (exists_no_follow(ctx.layout.config_file())) {
    auto text = read_small_file(ctx.layout.config_file());
    if (!text)
      return std::move(text).error();
    existing = std::move(*text);
  }
  bool explicit_options =
    !options.vmm_kind.empty() || options.port != 0 || !options.sets.empty();
  Settings settings;
  if (existing && !options.force && explicit_options) {
    auto parsed = parse_config_text(*existing);
    if (!parsed)
      return invalid("cannot update " + ctx.layout.config_file().string() + ": " +
                     parsed.error().message +
                     " (edit it by hand, or use --force to rewrite it from defaults)");
    settings = std::move(*parsed);
  }
  if (auto st = apply_options(settings, options); !st)
    return std::move(st).error();

  const auto& home = ctx.layout.home();
  struct stat st{};
  if (::stat(home.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return system_error("stat", home.string(), errno);
    std::error_code ec;
    if (home.has_parent_path())
      fs::create_directories(home.parent_path(), ec);
    if (ec)
      return Error{Errc::system, "cannot create " + home.parent_path().string() + ": " +
                                   ec.message()};
    // 0755: CLI users read banger.conf (the port) and tls/{ca,client}.pem.
    if (::mkdir(home.c_str(), 0755) != 0 || ::chmod(home.c_str(), 0755) != 0)
      return system_error("mkdir", home.string(), errno);
    ctx.report.entries.push_back({".", InitAction::created, "mode 0755"});
  } else if (!S_ISDIR(st.st_mode)) {
    return invalid(home.string() + " exists and is not a directory");
  } else {
    ctx.report.entries.push_back({".", InitAction::kept, "mode " + octal(st.st_mode)});
  }

  // Secrets (database, token, SSH key) live under state/: the daemon's user
  // only. run/ and images/ leave room for a VMM group; tls/ is world-
  // traversable because the CLI needs client.pem and ca.pem, and the keys in
  // it carry their own narrow modes.
  const std::pair<fs::path, mode_t> dirs[] = {
    {ctx.layout.state_dir(), 0700},
    {ctx.layout.state_dir() / "vms", 0700},
    {ctx.layout.ssh_dir(), 0700},
    {ctx.layout.run_dir(), 0750},
    {ctx.layout.run_dir() / "vms", 0750},
    {ctx.layout.tls_dir(), 0755},
    {ctx.layout.images_dir(), 0750},
    {ctx.layout.logs_dir(), 0750},
  };
  for (const auto& [path, mode] : dirs)
    if (auto s = ensure_dir(ctx, path, mode); !s)
      return std::move(s).error();

  if (auto s = init_config(ctx, options, settings, existing); !s)
    return std::move(s).error();
  if (auto s = init_tls(ctx); !s)
    return std::move(s).error();
  if (auto s = init_token(ctx); !s)
    return std::move(s).error();
  if (auto s = init_ssh(ctx); !s)
    return std::move(s).error();
  return std::move(ctx.report);
}

} // namespace banger
