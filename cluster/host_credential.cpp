#include "cluster/host_credential.hpp"

#include "pki/pki.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

namespace banger::cluster {

namespace {

Error refused(std::string message) {
  return Error{Errc::unauthenticated, std::move(message)};
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = value(hex[i]);
    int lo = value(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

Result<std::string> read_text(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path);
  if (!in)
    return Error{Errc::invalid_argument, "cannot read the " + std::string(what) + " " + path.string()
                                           + "; make it with banger init --cluster-ca DIR --host-id ID"};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string common_name(X509* cert) {
  char buffer[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer, sizeof buffer);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

} // namespace

std::string host_common_name(std::string_view host_id) {
  return "banger-host:" + std::string(host_id);
}

std::string signed_text(const HostIntro& intro, std::string_view challenge) {
  std::string text = "banger host link v1\n";
  for (const std::string& field : {intro.host_id, intro.to_id, std::to_string(intro.epoch),
                                   std::to_string(intro.protocol), intro.version, intro.subnet,
                                   std::to_string(intro.cpus), std::to_string(intro.memory_mib),
                                   intro.nonce, intro.token, std::string(challenge)}) {
    text += field;
    text += '\n';
  }
  return text;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    std::abort(); // no randomness: no credential can be trusted
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

Result<HostCredential> HostCredential::load(const HomeLayout& home, std::string_view host_id) {
  auto cert_pem = read_text(home.host_certificate(), "host certificate");
  if (!cert_pem)
    return cert_pem.error();
  auto key_pem = read_text(home.host_key(), "host key");
  if (!key_pem)
    return key_pem.error();
  auto ca_pem = read_text(home.tls_dir() / "ca.pem", "cluster CA certificate");
  if (!ca_pem)
    return ca_pem.error();
  auto cert = pki::parse_certificate_pem(*cert_pem);
  auto key = pki::parse_key_pem(*key_pem);
  auto ca = pki::parse_certificate_pem(*ca_pem);
  if (!cert || !key || !ca)
    return Error{Errc::invalid_argument, "the host credential in " + home.tls_dir().string()
                                           + " does not parse; run banger init --cluster-ca again"};
  if (!pki::key_matches(cert->get(), key->get()))
    return Error{Errc::invalid_argument, home.host_key().string() + " is not the key of "
                                           + home.host_certificate().string()};
  if (auto st = pki::verify_issued(ca->get(), cert->get()); !st)
    return Error{Errc::invalid_argument, home.host_certificate().string()
                                           + " is not issued by tls/ca.pem: " + st.error().message};
  if (common_name(cert->get()) != host_common_name(host_id))
    return Error{Errc::invalid_argument, home.host_certificate().string() + " is for '"
                                           + common_name(cert->get()) + "', not for host "
                                           + std::string(host_id)};
  HostCredential out;
  out.certificate_pem_ = std::move(*cert_pem);
  out.key_ = std::move(*key);
  out.ca_ = std::move(*ca);
  return out;
}

Result<std::string> HostCredential::sign(std::string_view text) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1
      || EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(text.data()),
                        text.size()) != 1)
    return Error{Errc::internal, "cannot sign with the host key"};
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size,
                     reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1)
    return Error{Errc::internal, "cannot sign with the host key"};
  return to_hex(reinterpret_cast<const unsigned char*>(sig.data()), size);
}

Status verify_intro(X509* ca, const HostIntro& intro, std::string_view challenge,
                    std::string_view signature) {
  if (intro.certificate.size() > 16 * 1024 || signature.size() > 1024)
    return refused("host " + intro.host_id + ": credential too large");
  auto cert = pki::parse_certificate_pem(intro.certificate);
  if (!cert)
    return refused("host " + intro.host_id + " sent no certificate");
  if (auto st = pki::verify_issued(ca, cert->get()); !st)
    return refused("host " + intro.host_id + "'s certificate is not from the cluster CA: "
                   + st.error().message);
  auto cn = common_name(cert->get());
  if (cn != host_common_name(intro.host_id))
    return refused("the certificate presented for host " + intro.host_id + " is '" + cn
                   + "', not a host credential for it");
  auto raw = from_hex(signature);
  if (!raw || raw->empty())
    return refused("host " + intro.host_id + "'s signature is not hex");
  ssl::PKeyPtr key(X509_get_pubkey(cert->get()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  auto text = signed_text(intro, challenge);
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1
      || EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(raw->data()), raw->size(),
                          reinterpret_cast<const unsigned char*>(text.data()), text.size())
           != 1)
    return refused("host " + intro.host_id + "'s signature does not match its certificate");
  return {};
}

} // namespace banger::cluster
