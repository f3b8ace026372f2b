// `banger init`'s PKI: leaves kept, issued or refused against the kept CA,
// certificates that verify against their own CA only, check_tls_files and
// enable_tls, and who may use the client identity.
#include "messages/config.hpp"
#include "messages/home_layout.hpp"
#include "messages/tls.hpp"
#include "tests/cli/init_support.hpp"
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

#include <memory>

using namespace banger;
using namespace banger::test;
namespace fs = std::filesystem;

namespace {

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
