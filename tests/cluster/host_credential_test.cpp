#include "cluster/host_credential.hpp"

#include "pki/pki.hpp"

#include <doctest/doctest.h>

using namespace banger;
using namespace banger::cluster;

namespace {

struct Issued {
  std::string certificate;
  ssl::PKeyPtr key;
};

Issued issue(const pki::Authority& ca, const std::string& cn) {
  auto key = pki::generate_key();
  REQUIRE(key);
  auto cert = pki::issue(ca, key->get(), {.common_name = cn});
  REQUIRE(cert);
  return {*pki::certificate_pem(cert->get()), std::move(*key)};
}

std::string sign(EVP_PKEY* key, const std::string& text) {
  // The same signing HostCredential does, without a home on disk.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t size = 0;
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1);
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(text.data()),
                         text.size()) == 1);
  std::string sig(size, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < size; ++i) {
    hex.push_back(digits[static_cast<unsigned char>(sig[i]) >> 4]);
    hex.push_back(digits[static_cast<unsigned char>(sig[i]) & 0xf]);
  }
  return hex;
}

HostIntro intro_of(const std::string& id, const std::string& certificate) {
  HostIntro intro;
  intro.host_id = id;
  intro.to_id = "h2";
  intro.epoch = 42;
  intro.protocol = protocol_version;
  intro.version = "0.1.0";
  intro.subnet = "172.31.1.0/24";
  intro.cpus = 2;
  intro.memory_mib = 4096;
  intro.certificate = certificate;
  intro.nonce = random_hex(16);
  intro.token = random_hex(16);
  return intro;
}

} // namespace

TEST_CASE("a host's intro signed with its host key over the challenge is accepted") {
  auto ca = pki::make_ca("banger cluster CA");
  REQUIRE(ca);
  auto host = issue(*ca, host_common_name("h1"));
  auto intro = intro_of("h1", host.certificate);
  auto challenge = random_hex(16);
  auto signature = sign(host.key.get(), signed_text(intro, challenge));
  CHECK(verify_intro(ca->certificate.get(), intro, challenge, signature));
}

TEST_CASE("a CLI certificate of the same cluster CA cannot act as a host") {
  auto ca = pki::make_ca("banger cluster CA");
  REQUIRE(ca);
  auto client = issue(*ca, "banger-client");
  auto intro = intro_of("h1", client.certificate);
  auto challenge = random_hex(16);
  auto uut = verify_intro(ca->certificate.get(), intro, challenge,
                          sign(client.key.get(), signed_text(intro, challenge)));
  REQUIRE_FALSE(uut);
  CHECK(uut.error().code == Errc::unauthenticated);
  CHECK(uut.error().message.find("not a host credential") != std::string::npos);
}

TEST_CASE("a host credential for one id cannot claim another") {
  auto ca = pki::make_ca("banger cluster CA");
  REQUIRE(ca);
  auto h3 = issue(*ca, host_common_name("h3"));
  auto intro = intro_of("h1", h3.certificate);
  auto challenge = random_hex(16);
  CHECK_FALSE(verify_intro(ca->certificate.get(), intro, challenge,
                           sign(h3.key.get(), signed_text(intro, challenge))));
}

TEST_CASE("a host certificate from another CA is refused") {
  auto ca = pki::make_ca("banger cluster CA");
  auto other = pki::make_ca("banger cluster CA");
  REQUIRE(ca);
  REQUIRE(other);
  auto host = issue(*other, host_common_name("h1"));
  auto intro = intro_of("h1", host.certificate);
  auto challenge = random_hex(16);
  auto uut = verify_intro(ca->certificate.get(), intro, challenge,
                          sign(host.key.get(), signed_text(intro, challenge)));
  REQUIRE_FALSE(uut);
  CHECK(uut.error().message.find("not from the cluster CA") != std::string::npos);
}

TEST_CASE("a replayed signature over another challenge, or a changed field, is refused") {
  auto ca = pki::make_ca("banger cluster CA");
  REQUIRE(ca);
  auto host = issue(*ca, host_common_name("h1"));
  auto intro = intro_of("h1", host.certificate);
  auto old_challenge = random_hex(16);
  auto signature = sign(host.key.get(), signed_text(intro, old_challenge));
  CHECK_FALSE(verify_intro(ca->certificate.get(), intro, random_hex(16), signature));
  auto changed = intro;
  changed.subnet = "172.31.9.0/24";
  CHECK_FALSE(verify_intro(ca->certificate.get(), changed, old_challenge, signature));
  CHECK_FALSE(verify_intro(ca->certificate.get(), intro, old_challenge, "zz"));
  CHECK_FALSE(verify_intro(ca->certificate.get(), intro, old_challenge, ""));
}
