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
/// when it is missing and we know the home.
caf::expected<Image> ensure_image(caf::actor_system& sys, const control_actor& daemon,
                                  const Options& o);

/// `count` VMs named <prefix>-v<i>, spread over the links; their ids and
/// daemons, or the first error.
caf::expected<std::vector<std::pair<std::string, std::size_t>>>
prepare_vms(caf::actor_system& sys, Links& links, const std::string& prefix,
            std::uint64_t count, const Options& o);

/// Deletes every VM of this run (names <prefix>-...) on every daemon;
/// returns {deleted, left}. With --reconnect it first waits (up to the
/// request timeout) for a daemon that is away.
std::pair<std::uint64_t, std::uint64_t> clean_up(caf::actor_system& sys, Links& links,
                                                 const std::string& prefix, const Options& o,
                                                 Record* record);

} // namespace banger::load
