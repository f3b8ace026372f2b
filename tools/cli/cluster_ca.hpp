// `banger cluster ca DIR`: the one CA of a cluster (docs/cluster.md), made
// once; `banger init --cluster-ca DIR --host-id ID` issues each host's
// files from it. CAF-free, with init.
//
//   DIR/                (0700)
//   DIR/ca.key          (0600) EC P-256, the key that signs every member's files
//   DIR/ca.pem          (0644) self-signed, 10 years; every member's tls/ca.pem
//   DIR/id_ed25519      (0600) the cluster's SSH key: every member's
//   DIR/id_ed25519.pub  (0644)   state/ssh/id_ed25519(.pub)
//
// ca.key never goes into a home: a host that could sign certificates could
// mint another host's credential. The SSH key does: the cluster is one
// trust domain, and an image built on any member (which bakes in its
// home's public key) must accept the CLI of every member.
#pragma once

#include "pki/pki.hpp"
#include "tools/cli/init.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace banger {

/// The CN of a host credential: the rule of cluster::host_common_name
/// (cluster/host_credential.hpp), which checks it; repeated here so init
/// stays free of the cluster layer, and tested to agree.
inline std::string host_certificate_name(std::string_view host_id) {
  return "banger-host:" + std::string(host_id);
}

/// Makes the CA and the SSH key in `dir` (created with its parents when
/// missing). An existing ca.pem or ca.key is refused unless `force`: every
/// member's files chain to it. A CA without an SSH key (made by an older
/// banger) is kept and gets one.
Result<InitReport> make_cluster_ca(const std::filesystem::path& dir, bool force);

/// The cluster's SSH key pair, as OpenSSH wrote it.
struct ClusterSshKey {
  std::string private_key;
  std::string public_key;
};

/// Reads DIR/id_ed25519 and DIR/id_ed25519.pub; a clear error when DIR has
/// none (what to run to add it).
Result<ClusterSshKey> load_cluster_ssh_key(const std::filesystem::path& dir);

/// Reads DIR/ca.pem and DIR/ca.key and checks that they belong together.
Result<pki::Authority> load_cluster_ca(const std::filesystem::path& dir);

} // namespace banger
