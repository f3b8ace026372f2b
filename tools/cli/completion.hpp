// Shell completion generated from the command table (tools/cli/completion.cpp).
#pragma once

#include "tools/cli/args.hpp"

#include <string>
#include <vector>

namespace banger::cli {

/// What a value or positional argument completes to.
struct Completion {
  enum class Kind { nothing, files, dirs, vms, images, hosts, words };
  Kind kind = Kind::nothing;
  std::vector<std::string> words; ///< for Kind::words
};

/// By the option's kind and metavar: choices, the signal allow-list,
/// PATH/FILE -> files, DIR -> directories, IMAGE -> image names, vm create's
/// --host -> the cluster's host ids.
Completion completion_of(const OptionSpec& option);
Completion completion_of(const GlobalSpec& option);
/// REF of a `vm` command -> VM names, of an `image` command -> image names;
/// DIR -> directories.
Completion argument_completion(const CommandSpec& spec);

/// The whole bash script (`banger completion bash`).
std::string bash_completion();

} // namespace banger::cli
