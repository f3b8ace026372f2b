// An operation's stages as its status records them (`banger op show`):
// entering a stage closes the one before, ending the operation closes the
// last and sets the outcome. One copy for every actor that runs part of an
// operation (a create runs in the node, then in the VM's actor).
#pragma once

#include "messages/records.hpp"
#include "messages/result.hpp"

#include <optional>
#include <string>

namespace banger {

/// Closes the running stage (if any) and starts `name` at `now_us`.
void enter_stage(OperationStatus& status, const std::string& name, std::int64_t now_us);

/// Closes the running stage (failed with `error`), sets the outcome, the
/// error and the finish time.
void end_status(OperationStatus& status, const std::optional<Error>& error, std::int64_t now_us);

/// `earlier`'s stages ahead of `status`'s, and its start time: the part of
/// an operation another actor ran before handing it on.
void continue_from(OperationStatus& status, const OperationStatus& earlier);

} // namespace banger
