// The blocking parts of a load run around the client actors: the image it
// needs, the VMs it prepares and the clean-up of every VM it created.
#pragma once

#include "messages/cli_protocol.hpp"
#include "tools/load/links.hpp"
#include "tools/load/options.hpp"
#include "tools/load/record.hpp"

#include <caf/fwd.hpp>
#include <caf/expected.hpp>

#include <vector>

#include <cstdint>
#include <string>
#include <utility>

namespace banger::load {

Envelope envelope();
VmActionRequest action(const std::string& ref, VmAction what);
std::string message_of(const caf::error& err);

/// The image on `daemon`, registered from tiny files under <home>/images
/// when it is missing and we know the daemon's home (`home`, may be empty).
caf::expected<Image> ensure_image(caf::actor_system& sys, const control_actor& daemon,
                                  const Options& o, const std::string& home);

/// A VM prepare_vms made: its id, the daemon it was created through and,
/// in a cluster, its host.
struct MadeVm {
  std::string id;
  std::size_t daemon = 0;
  std::string host;
};

/// `count` VMs named <prefix>-v<i>, spread over the links (and over --hosts
/// in turn, in a cluster), or the first error.
caf::expected<std::vector<MadeVm>> prepare_vms(caf::actor_system& sys, Links& links,
                                               const std::string& prefix, std::uint64_t count,
                                               const Options& o);

/// Deletes every VM of this run (names <prefix>-...) on every daemon, each
/// once (in a cluster every entry lists every VM); returns {deleted, left}. With --reconnect it first waits (up to the
/// request timeout) for a daemon that is away.
std::pair<std::uint64_t, std::uint64_t> clean_up(caf::actor_system& sys, Links& links,
                                                 const std::string& prefix, const Options& o,
                                                 Record* record);

} // namespace banger::load
