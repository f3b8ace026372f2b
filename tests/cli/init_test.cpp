// `banger init`: what it writes, with which modes, what a second run keeps,
// what --force replaces, and that the result is a configuration and a PKI
// the rest of banger accepts.
#include "messages/config.hpp"
#include "messages/home_layout.hpp"
#include "messages/tls.hpp"
#include "tests/support/process.hpp"
#include "tools/cli/init.hpp"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

using namespace banger;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

mode_t mode_of(const fs::path& path) {
  struct stat st{};
  REQUIRE_MESSAGE(::lstat(path.c_str(), &st) == 0, path.string() << " missing");
  return st.st_mode & 07777;
}

// The error text of a failed Result, "" otherwise: doctest may render a
// message even when its check passed.
template <class T>
std::string why(const Result<T>& result) {
  return result.ok() ? std::string{} : result.error().message;
}

InitReport init_ok(const InitOptions& options) {
  auto report = init_home(options);
  REQUIRE_MESSAGE(report.ok(), why(report));
  return *report;
}

// Files whose bytes must survive a re-run.
const char* const secret_files[] = {
  "tls/ca.pem",     "tls/ca.key",     "tls/helper.pem",     "tls/helper.key",
  "tls/daemon.pem", "tls/daemon.key", "tls/client.pem",     "tls/client.key",
  "state/helper.token", "state/ssh/id_ed25519", "state/ssh/id_ed25519.pub",
};

std::map<std::string, std::string> snapshot(const fs::path& home) {
  std::map<std::string, std::string> out;
  for (auto* file : secret_files)
    out[file] = slurp(home / file);
  return out;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr read_cert(const fs::path& path) {
  auto text = slurp(path);
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  X509Ptr cert{PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)};
  BIO_free(bio);
  REQUIRE_MESSAGE(cert, path.string() << " is not a PEM certificate");
  return cert;
}

// X509_verify_cert of `leaf` under the single trusted `ca`, for `purpose`.
int verify(X509* ca, X509* leaf, int purpose) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  int ok = X509_verify_cert(ctx);
  int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  ERR_clear_error();
  return ok == 1 ? X509_V_OK : err;
}

std::string common_name(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

} // namespace

TEST_CASE("init creates every directory and file with its narrow mode") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto report = init_ok({.home = home});

  const std::pair<const char*, mode_t> expected[] = {
    {"", 0755},
    {"banger.conf", 0644},
    {"state", 0700},
    {"state/vms", 0700},
    {"state/ssh", 0700},
    {"state/helper.token", 0600},
    {"state/ssh/id_ed25519", 0600},
    {"state/ssh/id_ed25519.pub", 0644},
    {"run", 0750},
    {"run/vms", 0750},
    {"images", 0750},
    {"logs", 0750},
    {"tls", 0755},
    {"tls/ca.pem", 0644},
    {"tls/ca.key", 0400},
    {"tls/helper.pem", 0644},
    {"tls/helper.key", 0600},
    {"tls/daemon.pem", 0644},
    {"tls/daemon.key", 0600},
    {"tls/client.pem", 0644},
    {"tls/client.key", 0600},
  };
  for (auto [path, mode] : expected) {
    INFO("path: " << std::string(path));
    CHECK(mode_of(home / path) == mode);
  }
  for (auto* file : secret_files) {
    INFO("file: " << std::string(file));
    auto* entry = report.find(file);
    REQUIRE(entry);
    CHECK(entry->action == InitAction::created);
  }
  auto token = slurp(home / "state/helper.token");
  CHECK(token.size() == 64);
  CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(slurp(home / "state/ssh/id_ed25519.pub").rfind("ssh-ed25519 ", 0) == 0);
  CHECK(slurp(home / "state/ssh/id_ed25519").find("BEGIN OPENSSH PRIVATE KEY") !=
        std::string::npos);
  // No temporary file is left behind by the atomic writes.
  for (auto& entry : fs::recursive_directory_iterator(home))
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp-") == std::string::npos,
                  entry.path());
}

TEST_CASE("client.key is group-readable by the daemon group when one is given") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto gid = ::getegid();
  init_ok({.home = home, .daemon_group = std::to_string(gid)});
  struct stat st{};
  REQUIRE(::stat((home / "tls/client.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_gid == gid);
  CHECK(mode_of(home / "tls/daemon.key") == 0600);

  SUBCASE("a later run without the group keeps that access") {
    init_ok({.home = home});
    CHECK(mode_of(home / "tls/client.key") == 0640);
  }
}

TEST_CASE("an unknown daemon group is refused before anything is written") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto report = init_home({.home = home, .daemon_group = "no-such-group-banger-test"});
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code == Errc::invalid_argument);
  CHECK_FALSE(fs::exists(home));
}

TEST_CASE("a second init keeps every key, certificate and token byte-identical") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home});
  auto before = snapshot(home);
  auto conf_before = slurp(home / "banger.conf");

  auto report = init_ok({.home = home});
  CHECK(snapshot(home) == before);
  CHECK(slurp(home / "banger.conf") == conf_before);
  for (auto* file : secret_files) {
    INFO("file: " << std::string(file));
    auto* entry = report.find(file);
    REQUIRE(entry);
    CHECK(entry->action == InitAction::kept);
  }
  CHECK(report.find("banger.conf")->action == InitAction::kept);
  CHECK(report.render().find("kept      tls/ca.key") != std::string::npos);
}

TEST_CASE("--force replaces every key, certificate and token") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home});
  auto before = snapshot(home);

  auto report = init_ok({.home = home, .force = true});
  auto after = snapshot(home);
  for (auto* file : secret_files) {
    INFO("file: " << std::string(file));
    CHECK(after[file] != before[file]);
    REQUIRE(report.find(file));
    CHECK(report.find(file)->action == InitAction::replaced);
  }
  CHECK(mode_of(home / "tls/ca.key") == 0400);
  CHECK(mode_of(home / "tls/helper.key") == 0600);
}

TEST_CASE("a missing leaf is issued by the kept CA and everything else is kept") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home});
  auto ca_before = slurp(home / "tls/ca.pem");
  auto key_before = slurp(home / "tls/daemon.key");
  fs::remove(home / "tls/daemon.pem");

  auto report = init_ok({.home = home});
  CHECK(report.find("tls/daemon.pem")->action == InitAction::created);
  CHECK(report.find("tls/daemon.key")->action == InitAction::kept);
  CHECK(slurp(home / "tls/ca.pem") == ca_before);
  CHECK(slurp(home / "tls/daemon.key") == key_before);
  CHECK(check_tls_files(tls_files(HomeLayout{home}, TlsRole::daemon)).ok());
}

TEST_CASE("leaves without their CA are not silently re-signed") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home});
  fs::remove(home / "tls/ca.pem");
  fs::remove(home / "tls/ca.key");
  auto helper_key = slurp(home / "tls/helper.key");

  auto report = init_home({.home = home});
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().message.find("--force") != std::string::npos);
  CHECK(slurp(home / "tls/helper.key") == helper_key);
}

TEST_CASE("a leaf that does not verify against the kept CA is reported") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  fs::path other = fs::path(tmp.path()) / "other";
  init_ok({.home = home});
  init_ok({.home = other});
  fs::copy_file(other / "tls/client.pem", home / "tls/client.pem",
                fs::copy_options::overwrite_existing);
  fs::copy_file(other / "tls/client.key", home / "tls/client.key",
                fs::copy_options::overwrite_existing);

  auto report = init_home({.home = home});
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().message.find("tls/client.pem does not verify") != std::string::npos);
}

TEST_CASE("an unknown --set key is refused and names the known keys") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto report = init_home({.home = home, .sets = {"vmm.firecracker-binary=/x"}});
  REQUIRE_FALSE(report.ok());
  CHECK(report.error().code == Errc::invalid_argument);
  CHECK(report.error().message.find("unknown setting 'vmm.firecracker-binary'") !=
        std::string::npos);
  CHECK(report.error().message.find("vmm.firecracker-bin") != std::string::npos);
  CHECK_FALSE(fs::exists(home));
}

TEST_CASE("malformed values are refused") {
  Settings uut;
  CHECK_FALSE(apply_setting(uut, "daemon.port", "0").ok());
  CHECK_FALSE(apply_setting(uut, "daemon.port", "65536").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.kind", "xen").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.firecracker-bin", "firecracker").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.stop-grace", "30").ok());
  CHECK_FALSE(apply_setting(uut, "vmm.stop-grace", "2d").ok());
  CHECK_FALSE(apply_setting(uut, "network.subnet", "172.30.0.1/24").ok());
  CHECK_FALSE(apply_setting(uut, "network.bridge", "a-very-long-bridge-name").ok());
  CHECK_FALSE(apply_setting(uut, "network.nat", "yes").ok());
  CHECK_FALSE(apply_setting(uut, "daemon.listen", "localhost").ok());
  CHECK_FALSE(apply_setting(uut, "network.bridge", "br\n0").ok());
  CHECK(apply_setting(uut, "vmm.stop-grace", "2min").ok());
  CHECK(uut.vmm_stop_grace == std::chrono::minutes(2));
  CHECK(apply_setting(uut, "vmm.jailer-bin", "").ok());
}

TEST_CASE("every key render_config writes can be read back and set") {
  Settings defaults;
  auto text = render_config(defaults);
  auto parsed = parse_config_text(text);
  REQUIRE_MESSAGE(parsed.ok(), why(parsed));
  CHECK(render_config(*parsed) == text);
  // Each section.key of the rendered file is a known key, and vice versa.
  std::vector<std::string> rendered;
  std::string section;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == ';')
      continue;
    if (line[0] == '[')
      section = line.substr(1, line.size() - 2);
    else
      rendered.push_back(section + "." + line.substr(0, line.find('=')));
  }
  CHECK(rendered == setting_keys());
}

TEST_CASE("the written banger.conf parses with banger::Config and holds the options") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home,
           .vmm_kind = "qemu",
           .port = 17420,
           .sets = {"vmm.firecracker-bin=/opt/fc/fc-stub", "vmm.stop-grace=5s",
                    "network.nat=true", "network.bridge=bgtest0", "vmm.user=nobody"}});
  Config uut;
  auto st = uut.read(home.string(), {});
  REQUIRE_MESSAGE(st.ok(), why(st));
  CHECK(uut.settings.daemon_port == 17420);
  CHECK(uut.settings.helper_port == 17421);
  CHECK(uut.settings.vmm_kind == "qemu");
  CHECK(uut.settings.vmm_firecracker_bin == "/opt/fc/fc-stub");
  CHECK(uut.settings.vmm_stop_grace == std::chrono::seconds(5));
  CHECK(uut.settings.network_nat);
  CHECK(uut.settings.network_bridge == "bgtest0");
  CHECK(uut.settings.vmm_user == "nobody");
  CHECK(uut.settings.daemon_listen == "127.0.0.1");
}

TEST_CASE("explicit options on a re-run merge into the existing banger.conf") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home, .port = 17500, .sets = {"network.bridge=bgmerge0"}});
  auto key_before = slurp(home / "tls/ca.key");

  auto report = init_ok({.home = home, .vmm_kind = "qemu"});
  CHECK(report.find("banger.conf")->action == InitAction::updated);
  Config uut;
  REQUIRE(uut.read(home.string(), {}).ok());
  CHECK(uut.settings.vmm_kind == "qemu");
  CHECK(uut.settings.daemon_port == 17500);       // kept from the first run
  CHECK(uut.settings.network_bridge == "bgmerge0"); // kept from the first run
  CHECK(slurp(home / "tls/ca.key") == key_before);

  SUBCASE("without options a hand-edited banger.conf is left alone") {
    std::ofstream(home / "banger.conf", std::ios::app) << "# local note\n";
    auto edited = slurp(home / "banger.conf");
    auto again = init_ok({.home = home});
    CHECK(again.find("banger.conf")->action == InitAction::kept);
    CHECK(slurp(home / "banger.conf") == edited);
  }
}

TEST_CASE("--port N gives the helper N+1 and refuses a clash") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  auto clash = init_home({.home = home, .port = 9000, .sets = {"helper.port=9000"}});
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.error().message.find("both 9000") != std::string::npos);
}

TEST_CASE("parse_init_args reads the documented flags") {
  auto uut = parse_init_args({"--vmm", "qemu", "--port=7000", "--set", "vmm.accel=tcg",
                              "--set=network.nat=true", "--force", "--daemon-group", "banger"});
  REQUIRE_MESSAGE(uut.ok(), why(uut));
  CHECK(uut->vmm_kind == "qemu");
  CHECK(uut->port == 7000);
  CHECK(uut->sets == std::vector<std::string>{"vmm.accel=tcg", "network.nat=true"});
  CHECK(uut->force);
  CHECK(uut->daemon_group == "banger");
  CHECK_FALSE(parse_init_args({"--vmm", "xen"}).ok());
  CHECK_FALSE(parse_init_args({"--port", "65535"}).ok());
  CHECK_FALSE(parse_init_args({"--bogus"}).ok());
  CHECK_FALSE(parse_init_args({"--set"}).ok());
}

TEST_CASE("the certificates verify against their CA and not against another home's") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  fs::path other = fs::path(tmp.path()) / "other";
  init_ok({.home = home});
  init_ok({.home = other});
  auto ca = read_cert(home / "tls/ca.pem");
  auto other_ca = read_cert(other / "tls/ca.pem");

  CHECK(X509_check_ca(ca.get()) == 1);
  CHECK((X509_get_extension_flags(ca.get()) & EXFLAG_SS) != 0);
  CHECK((X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN) != 0);
  for (const char* role : {"helper", "daemon", "client"}) {
    INFO("role: " << std::string(role));
    auto leaf = read_cert(home / "tls" / (std::string(role) + ".pem"));
    CHECK(common_name(leaf.get()) == std::string("banger-") + role);
    CHECK(X509_check_ca(leaf.get()) == 0);
    CHECK((X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER) != 0);
    CHECK((X509_get_extended_key_usage(leaf.get()) & XKU_SSL_CLIENT) != 0);
    CHECK(X509_check_ip_asc(leaf.get(), "127.0.0.1", 0) == 1);
    CHECK(X509_check_host(leaf.get(), "localhost", 0, 0, nullptr) == 1);
    CHECK(verify(ca.get(), leaf.get(), X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
    CHECK(verify(ca.get(), leaf.get(), X509_PURPOSE_SSL_SERVER) == X509_V_OK);
    CHECK(verify(other_ca.get(), leaf.get(), X509_PURPOSE_SSL_CLIENT) != X509_V_OK);
    // About two years, and not beyond the CA.
    int days = 0, secs = 0;
    REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf.get()),
                           X509_get0_notAfter(leaf.get())));
    CHECK(days >= 729);
    CHECK(days <= 731);
    CHECK(ASN1_TIME_compare(X509_get0_notAfter(leaf.get()), X509_get0_notAfter(ca.get())) < 0);
  }
  auto a = read_cert(home / "tls/helper.pem");
  auto b = read_cert(home / "tls/daemon.pem");
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())) != 0);
  CHECK(common_name(ca.get()) != common_name(other_ca.get()));
}

TEST_CASE("check_tls_files explains what is wrong") {
  test::TempDir tmp;
  fs::path home = fs::path(tmp.path()) / "home";
  fs::path other = fs::path(tmp.path()) / "other";
  init_ok({.home = home});
  init_ok({.home = other});
  HomeLayout layout{home};

  CHECK(check_tls_files(tls_files(layout, TlsRole::client)).ok());

  auto missing = tls_files(HomeLayout{fs::path(tmp.path()) / "nowhere"}, TlsRole::daemon);
  auto st = check_tls_files(missing, "run `banger init`");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::invalid_argument);
  CHECK(st.error().message.find("daemon.pem does not exist") != std::string::npos);
  CHECK(st.error().message.find("banger init") != std::string::npos);

  auto foreign = tls_files(layout, TlsRole::client);
  foreign.certificate = other / "tls/client.pem";
  foreign.key = other / "tls/client.key";
  st = check_tls_files(foreign);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::unauthenticated);

  auto mismatched = tls_files(layout, TlsRole::client);
  mismatched.key = home / "tls/daemon.key";
  st = check_tls_files(mismatched);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("does not belong") != std::string::npos);
}

TEST_CASE("enable_tls refuses a home without TLS files and leaves the config alone") {
  test::TempDir tmp;
  Config cfg;
  auto st = enable_tls(cfg, HomeLayout{tmp.path()}, TlsRole::helper);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == Errc::invalid_argument);
  CHECK(st.error().message.find("banger init --home") != std::string::npos);
  CHECK(cfg.openssl_certificate.empty());

  fs::path home = fs::path(tmp.path()) / "home";
  init_ok({.home = home});
  REQUIRE(enable_tls(cfg, HomeLayout{home}, TlsRole::helper).ok());
  CHECK(cfg.openssl_certificate == (home / "tls/helper.pem").string());
  CHECK(cfg.openssl_key == (home / "tls/helper.key").string());
  CHECK(cfg.openssl_cafile == (home / "tls/ca.pem").string());
}

namespace {

// Runs check_tls_files for the client role as `uid`/`gid` in a child process;
// returns the Errc (none when it passed).
Errc check_as(uid_t uid, gid_t gid, const HomeLayout& home) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
      ::_exit(200);
    auto st = check_tls_files(tls_files(home, TlsRole::client));
    ::_exit(st.ok() ? 0 : static_cast<int>(st.error().code));
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) != 200);
  return static_cast<Errc>(WEXITSTATUS(status));
}

} // namespace

TEST_CASE("only the daemon group may use the client identity") {
  if (!test::is_root())
    BANGER_SKIP("needs root to act as another user");
  passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody);
  test::TempDir tmp;
  ::chmod(tmp.path().c_str(), 0755); // let the other user reach the home
  fs::path home = fs::path(tmp.path()) / "home";
  HomeLayout layout{home};

  // A group other than nobody's own, so membership is what grants access.
  gid_t group = nobody->pw_gid == 0 ? 1 : 0;
  init_ok({.home = home});
  CHECK(check_as(nobody->pw_uid, nobody->pw_gid, layout) == Errc::unauthenticated);

  init_ok({.home = home, .daemon_group = std::to_string(group)});
  CHECK(check_as(nobody->pw_uid, group, layout) == Errc::none);
  CHECK(check_as(nobody->pw_uid, nobody->pw_gid, layout) == Errc::unauthenticated);
}
