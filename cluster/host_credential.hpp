// A cluster host's credential and the checks of a peer's. TLS between
// hosts proves only "a certificate from the cluster CA", which every CLI
// certificate of every member home has too. A host link therefore opens
// only after each side signs the other's fresh nonce with its *host* key,
// whose certificate says "banger-host:<id>" (messages/host_protocol.hpp
// has the handshake). The host key is readable by bangerd only.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/host_protocol.hpp"
#include "messages/openssl_ptr.hpp"
#include "messages/result.hpp"

#include <string>
#include <string_view>

namespace banger::cluster {

/// "banger-host:" + id: the CN of a host certificate.
std::string host_common_name(std::string_view host_id);

/// The exact text a host signs: every field of `intro` but the
/// certificate (which the signature itself vouches for), and the other
/// side's `challenge`, one per line after a fixed label.
std::string signed_text(const HostIntro& intro, std::string_view challenge);

/// `bytes` random bytes as lowercase hex (nonces, session tokens).
std::string random_hex(std::size_t bytes);

/// This host's credential, loaded once at start.
class HostCredential {
public:
  /// Reads tls/host.pem and tls/host.key of `home` and checks that the key
  /// is the certificate's, that the certificate chains to tls/ca.pem and
  /// names `host_id`.
  static Result<HostCredential> load(const HomeLayout& home, std::string_view host_id);

  const std::string& certificate_pem() const { return certificate_pem_; }
  X509* ca() const { return ca_.get(); }

  /// Hex signature of `text` (ECDSA P-256 / SHA-256).
  Result<std::string> sign(std::string_view text) const;

private:
  std::string certificate_pem_;
  ssl::PKeyPtr key_;
  ssl::X509Ptr ca_;
};

/// Whether `intro` comes from the host it names: its certificate chains to
/// `ca`, has CN banger-host:<intro.host_id>, and `signature` (hex) is its
/// key's over signed_text(intro, challenge). unauthenticated with the
/// reason otherwise.
Status verify_intro(X509* ca, const HostIntro& intro, std::string_view challenge,
                    std::string_view signature);

} // namespace banger::cluster
