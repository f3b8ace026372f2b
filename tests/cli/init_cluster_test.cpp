// `banger cluster ca` and `banger init --cluster-ca DIR --host-id ID`: one CA
// for every member, a home that holds no CA key, and a host credential that
// the cluster layer loads and a CLI certificate cannot stand in for.
#include "cluster/host_credential.hpp"
#include "messages/home_layout.hpp"
#include "pki/pki.hpp"
#include "tests/cli/init_support.hpp"
#include "tests/support/process.hpp"
#include "tools/cli/cluster_ca.hpp"
#include "tools/cli/init.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <memory>

using namespace banger;
using namespace banger::test;
namespace fs = std::filesystem;

namespace {

HostIntro intro_of(std::string certificate) {
  HostIntro intro;
  intro.host_id = "h1";
  intro.to_id = "h2";
  intro.epoch = 7;
  intro.certificate = std::move(certificate);
  intro.nonce = cluster::random_hex(16);
  return intro;
}

constexpr const char* two_hosts = "cluster.hosts=h1=10.77.0.1:7430,h2=10.77.0.2:7430";

ssl::X509Ptr certificate(const fs::path& path) {
  auto cert = pki::parse_certificate_pem(slurp(path));
  REQUIRE_MESSAGE(cert.ok(), path.string() << " is not a certificate");
  return std::move(*cert);
}

fs::path make_ca(const TempDir& tmp) {
  auto dir = fs::path(tmp.path()) / "cluster-ca";
  auto made = make_cluster_ca(dir, false);
  REQUIRE_MESSAGE(made.ok(), why(made));
  return dir;
}

InitOptions host(const fs::path& home, const fs::path& ca, std::string id) {
  return {.home = home, .sets = {two_hosts}, .cluster_ca = ca, .host_id = std::move(id)};
}

// Hex ECDSA signature of `text` with the PEM key in `key_file`, as a host
// signs its intro.
std::string sign_with(const fs::path& key_file, const std::string& text) {
  auto key = pki::parse_key_pem(slurp(key_file));
  REQUIRE(key.ok());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t size = 0;
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->get()) == 1);
  auto* data = reinterpret_cast<const unsigned char*>(text.data());
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, data, text.size()) == 1);
  std::string sig(size, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data,
                         text.size()) == 1);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < size; ++i) {
    hex.push_back(digits[static_cast<unsigned char>(sig[i]) >> 4]);
    hex.push_back(digits[static_cast<unsigned char>(sig[i]) & 15]);
  }
  return hex;
}

} // namespace

TEST_CASE("cluster ca makes a 0600 key and its certificate in a 0700 directory") {
  TempDir tmp;
  auto dir = fs::path(tmp.path()) / "nested" / "ca";
  auto report = make_cluster_ca(dir, false);
  REQUIRE_MESSAGE(report.ok(), why(report));
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "ca.key") == 0600);
  CHECK(mode_of(dir / "ca.pem") == 0644);
  CHECK(report->find("ca.key")->action == InitAction::created);
  auto ca = load_cluster_ca(dir);
  REQUIRE_MESSAGE(ca.ok(), why(ca));
  // A CA: what it signs verifies under it.
  auto key = pki::generate_key();
  REQUIRE(key.ok());
  auto leaf = pki::issue(*ca, key->get(), {.common_name = "banger-daemon"});
  REQUIRE(leaf.ok());
  CHECK(pki::verify_issued(ca->certificate.get(), leaf->get()).ok());
}

TEST_CASE("cluster ca refuses to replace an existing CA unless --force") {
  TempDir tmp;
  auto dir = make_ca(tmp);
  auto key = slurp(dir / "ca.key");
  auto again = make_cluster_ca(dir, false);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("already holds a cluster CA") != std::string::npos);
  CHECK(again.error().message.find("--force") != std::string::npos);
  CHECK(slurp(dir / "ca.key") == key);
  // A lone key is a CA too (a crash between the two writes): still refused.
  fs::remove(dir / "ca.pem");
  CHECK_FALSE(make_cluster_ca(dir, false).ok());
  auto forced = make_cluster_ca(dir, true);
  REQUIRE_MESSAGE(forced.ok(), why(forced));
  CHECK(forced->find("ca.key")->action == InitAction::replaced);
  CHECK(slurp(dir / "ca.key") != key);
}

TEST_CASE("a cluster host's certificates all chain to the cluster CA and its home holds no CA key") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  auto report = init_ok(host(home, ca_dir, "h1"));

  CHECK(slurp(home / "tls/ca.pem") == slurp(ca_dir / "ca.pem"));
  CHECK_FALSE(fs::exists(home / "tls/ca.key"));
  CHECK_FALSE(report.find("tls/ca.key"));
  auto ca = certificate(ca_dir / "ca.pem");
  for (auto* leaf : {"helper", "daemon", "client", "host"}) {
    INFO("leaf: " << leaf);
    auto cert = certificate(home / "tls" / (std::string(leaf) + ".pem"));
    CHECK(pki::verify_issued(ca.get(), cert.get()).ok());
  }
  // Readable by bangerd only, like the daemon's key; the certificate too.
  CHECK(mode_of(home / "tls/host.key") == 0600);
  CHECK(mode_of(home / "tls/host.pem") == 0600);
  CHECK(mode_of(home / "tls/daemon.key") == 0600);
  CHECK(report.settings.cluster_host_id == "h1");
  auto conf = slurp(home / "banger.conf");
  CHECK(conf.find("host-id=\"h1\"") != std::string::npos);
}

TEST_CASE("two hosts initialized from one cluster CA trust each other's certificates") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto h1 = fs::path(tmp.path()) / "h1";
  auto h2 = fs::path(tmp.path()) / "h2";
  init_ok(host(h1, ca_dir, "h1"));
  init_ok(host(h2, ca_dir, "h2"));
  auto ca_of_h1 = certificate(h1 / "tls/ca.pem");
  for (auto* leaf : {"daemon", "client", "host"})
    CHECK(pki::verify_issued(ca_of_h1.get(), certificate(h2 / "tls" / (std::string(leaf) + ".pem")).get())
            .ok());
}

TEST_CASE("the host credential init issues is the one the cluster layer loads") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  init_ok(host(home, ca_dir, "h1"));
  CHECK(host_certificate_name("h1") == cluster::host_common_name("h1"));

  auto uut = cluster::HostCredential::load(HomeLayout{home}, "h1");
  REQUIRE_MESSAGE(uut.ok(), why(uut));
  // It is h1's, not any member's.
  auto other = cluster::HostCredential::load(HomeLayout{home}, "h2");
  CHECK_FALSE(other.ok());

  // And its signature opens a link the way the handshake checks it.
  auto intro = intro_of(uut->certificate_pem());
  auto challenge = cluster::random_hex(16);
  auto signature = uut->sign(cluster::signed_text(intro, challenge));
  REQUIRE(signature.ok());
  auto ca = certificate(ca_dir / "ca.pem");
  CHECK(cluster::verify_intro(ca.get(), intro, challenge, *signature).ok());
}

TEST_CASE("a CLI certificate from the cluster CA is not a host credential") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  init_ok(host(home, ca_dir, "h1"));
  auto ca = certificate(ca_dir / "ca.pem");

  // Everything right but the certificate: the client's, properly signed
  // with the client's own key.
  auto intro = intro_of(slurp(home / "tls/client.pem"));
  auto challenge = cluster::random_hex(16);
  auto signature = sign_with(home / "tls/client.key", cluster::signed_text(intro, challenge));
  auto uut = cluster::verify_intro(ca.get(), intro, challenge, signature);
  REQUIRE_FALSE(uut.ok());
  CHECK(uut.error().code == Errc::unauthenticated);
  CHECK(uut.error().message.find("not a host credential") != std::string::npos);
}

TEST_CASE("re-running init on a cluster host keeps its files, and without --cluster-ca cannot issue a missing one") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  init_ok(host(home, ca_dir, "h1"));
  auto host_pem = slurp(home / "tls/host.pem");
  auto host_key = slurp(home / "tls/host.key");
  auto daemon_pem = slurp(home / "tls/daemon.pem");

  auto kept = init_ok({.home = home});
  for (auto* file : {"tls/ca.pem", "tls/host.pem", "tls/host.key", "tls/daemon.pem"})
    CHECK(kept.find(file)->action == InitAction::kept);
  CHECK(kept.settings.cluster_host_id == "h1");
  CHECK(slurp(home / "tls/host.pem") == host_pem);
  CHECK_FALSE(fs::exists(home / "tls/ca.key"));

  // Options merged into banger.conf keep the cluster too.
  init_ok({.home = home, .sets = {"vmm.stop-grace=20s"}});
  CHECK(slurp(home / "tls/host.key") == host_key);

  fs::remove(home / "tls/host.pem");
  auto refused = init_home({.home = home});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("tls/host.pem") != std::string::npos);
  CHECK(refused.error().message.find("--cluster-ca DIR --host-id h1") != std::string::npos);

  auto issued = init_ok(host(home, ca_dir, "h1"));
  CHECK(issued.find("tls/host.pem")->action == InitAction::created);
  CHECK(issued.find("tls/host.key")->action == InitAction::kept);
  CHECK(slurp(home / "tls/daemon.pem") == daemon_pem);
  CHECK(cluster::HostCredential::load(HomeLayout{home}, "h1").ok());
}

TEST_CASE("--host-id without --cluster-ca and the reverse are refused") {
  auto no_ca = parse_init_args({"--host-id", "h1"});
  REQUIRE_FALSE(no_ca.ok());
  CHECK(no_ca.error().message.find("--host-id needs --cluster-ca DIR") != std::string::npos);
  auto no_id = parse_init_args({"--cluster-ca=/x"});
  REQUIRE_FALSE(no_id.ok());
  CHECK(no_id.error().message.find("--cluster-ca needs --host-id ID") != std::string::npos);
  auto bad = parse_init_args({"--cluster-ca", "/x", "--host-id", "Bad_Id"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("'Bad_Id'") != std::string::npos);
  auto both = parse_init_args({"--cluster-ca", "/x", "--host-id=h1"});
  REQUIRE_MESSAGE(both.ok(), why(both));
  CHECK(both->cluster_ca == "/x");
  CHECK(both->host_id == "h1");
}

TEST_CASE("a cluster host without a usable cluster.hosts or cluster CA is refused before anything is written") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  struct Case {
    InitOptions options;
    std::string needle;
  };
  for (const auto& c : std::vector<Case>{
         {{.home = home, .cluster_ca = ca_dir, .host_id = "h1"}, "cluster.hosts is not set"},
         {host(home, ca_dir, "h3"), "h3 is not one of cluster.hosts"},
         {host(home, fs::path(tmp.path()) / "nowhere", "h1"), "make one once with banger cluster ca"},
         {{.home = home, .sets = {two_hosts, "cluster.host-id=h2"}, .cluster_ca = ca_dir,
           .host_id = "h1"},
          "contradict"},
         // A cluster host's files come from the cluster CA only.
         {{.home = home, .sets = {two_hosts, "cluster.host-id=h1"}}, "--cluster-ca DIR --host-id h1"},
       }) {
    CAPTURE(c.needle);
    auto uut = init_home(c.options);
    REQUIRE_FALSE(uut.ok());
    CHECK(uut.error().message.find(c.needle) != std::string::npos);
    CHECK_FALSE(fs::exists(home));
  }
}

TEST_CASE("a home with its own CA joins a cluster only with --force, which removes its CA key") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  init_ok({.home = home});
  auto before = snapshot(home);

  auto refused = init_home(host(home, ca_dir, "h1"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("is not the cluster CA") != std::string::npos);
  CHECK(refused.error().message.find("--force") != std::string::npos);
  CHECK(snapshot(home) == before);

  auto options = host(home, ca_dir, "h1");
  options.force = true;
  auto joined = init_ok(options);
  CHECK(joined.find("tls/ca.key")->action == InitAction::removed);
  CHECK_FALSE(fs::exists(home / "tls/ca.key"));
  CHECK(slurp(home / "tls/ca.pem") == slurp(ca_dir / "ca.pem"));
  CHECK(cluster::HostCredential::load(HomeLayout{home}, "h1").ok());
}

TEST_CASE("a host credential issued for another host id is not kept") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  init_ok(host(home, ca_dir, "h1"));
  auto renamed = init_home(host(home, ca_dir, "h2"));
  REQUIRE_FALSE(renamed.ok());
  CHECK(renamed.error().message.find("'banger-host:h1', not 'banger-host:h2'") != std::string::npos);
  CHECK(renamed.error().message.find("--force") != std::string::npos);
}

TEST_CASE("--force on a cluster host reissues everything from the cluster CA, and needs it") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  init_ok(host(home, ca_dir, "h1"));
  auto host_key = slurp(home / "tls/host.key");
  auto without = init_home({.home = home, .sets = {two_hosts, "cluster.host-id=h1"}, .force = true});
  REQUIRE_FALSE(without.ok());
  CHECK(without.error().message.find("add --cluster-ca DIR") != std::string::npos);
  CHECK(slurp(home / "tls/host.key") == host_key);

  auto options = host(home, ca_dir, "h1");
  options.force = true;
  auto forced = init_ok(options);
  CHECK(forced.find("tls/host.key")->action == InitAction::replaced);
  CHECK(slurp(home / "tls/host.key") != host_key);
  CHECK(cluster::HostCredential::load(HomeLayout{home}, "h1").ok());
}

TEST_CASE("cluster ca makes the cluster's SSH key and init installs it as every member's") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  CHECK(mode_of(ca_dir / "id_ed25519") == 0600);
  CHECK(mode_of(ca_dir / "id_ed25519.pub") == 0644);
  CHECK(slurp(ca_dir / "id_ed25519.pub").starts_with("ssh-ed25519 "));
  for (auto* id : {"h1", "h2"}) {
    CAPTURE(id);
    auto home = fs::path(tmp.path()) / id;
    init_ok(host(home, ca_dir, id));
    // An image built on either home bakes in this public key: it accepts
    // the CLI of both.
    CHECK(slurp(home / "state/ssh/id_ed25519") == slurp(ca_dir / "id_ed25519"));
    CHECK(slurp(home / "state/ssh/id_ed25519.pub") == slurp(ca_dir / "id_ed25519.pub"));
    CHECK(mode_of(home / "state/ssh/id_ed25519") == 0600);
    CHECK(mode_of(home / "state/ssh/id_ed25519.pub") == 0644);
  }
  // Again: kept, not rewritten.
  auto again = init_ok(host(fs::path(tmp.path()) / "h1", ca_dir, "h1"));
  CHECK(again.find("state/ssh/id_ed25519")->action == InitAction::kept);
  CHECK(again.find("state/ssh/id_ed25519.pub")->action == InitAction::kept);
}

TEST_CASE("a cluster CA without an SSH key: init says to run cluster ca again, which adds one and keeps the CA") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  fs::remove(ca_dir / "id_ed25519");
  fs::remove(ca_dir / "id_ed25519.pub");
  auto ca_key = slurp(ca_dir / "ca.key");
  auto home = fs::path(tmp.path()) / "h1";
  auto refused = init_home(host(home, ca_dir, "h1"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("no cluster SSH key") != std::string::npos);
  CHECK(refused.error().message.find("banger cluster ca " + ca_dir.string()) != std::string::npos);
  CHECK_FALSE(fs::exists(home));

  auto added = make_cluster_ca(ca_dir, false);
  REQUIRE_MESSAGE(added.ok(), why(added));
  CHECK(added->find("ca.key")->action == InitAction::kept);
  CHECK(added->find("id_ed25519")->action == InitAction::created);
  CHECK(slurp(ca_dir / "ca.key") == ca_key);
  init_ok(host(home, ca_dir, "h1"));
  CHECK(slurp(home / "state/ssh/id_ed25519") == slurp(ca_dir / "id_ed25519"));
}

TEST_CASE("a cluster host with an SSH key of its own keeps it unless --force") {
  TempDir tmp;
  auto ca_dir = make_ca(tmp);
  auto home = fs::path(tmp.path()) / "h1";
  init_ok(host(home, ca_dir, "h1"));
  auto other = fs::path(tmp.path()) / "other";
  REQUIRE(make_cluster_ca(other, false).ok());
  fs::copy_file(other / "id_ed25519", home / "state/ssh/id_ed25519",
                fs::copy_options::overwrite_existing);
  auto own = slurp(home / "state/ssh/id_ed25519");

  auto refused = init_home(host(home, ca_dir, "h1"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("is not the cluster's SSH key") != std::string::npos);
  CHECK(refused.error().message.find("--force") != std::string::npos);
  CHECK(slurp(home / "state/ssh/id_ed25519") == own);

  auto options = host(home, ca_dir, "h1");
  options.force = true;
  init_ok(options);
  CHECK(slurp(home / "state/ssh/id_ed25519") == slurp(ca_dir / "id_ed25519"));
}
