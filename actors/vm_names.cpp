#include "actors/vm_names.hpp"

#include <array>
#include <random>
#include <string_view>

namespace banger {

namespace {

// Short, common, unambiguous words; no word is a prefix of an id's hex.
constexpr std::array<std::string_view, 48> adjectives{
  "amber",  "bold",   "brave",  "brisk",  "calm",   "clever", "cosmic", "crisp",
  "curly",  "dapper", "eager",  "fancy",  "fluffy", "frosty", "gentle", "giddy",
  "golden", "happy",  "hardy",  "humble", "jolly",  "keen",   "kind",   "lively",
  "lucky",  "mellow", "merry",  "mighty", "misty",  "nimble", "noble",  "plucky",
  "polite", "proud",  "quick",  "quiet",  "rapid",  "rosy",   "rustic", "shiny",
  "silent", "snowy",  "sunny",  "swift",  "tidy",   "vivid",  "witty",  "zesty"};

constexpr std::array<std::string_view, 48> nouns{
  "otter",  "falcon", "badger", "beaver", "bison",  "cobra",  "condor", "coyote",
  "crane",  "dingo",  "dolphin", "eagle", "ferret", "finch",  "gecko",  "heron",
  "ibis",   "jackal", "jaguar", "koala",  "lemur",  "lynx",   "marten", "moose",
  "newt",   "ocelot", "osprey", "panda",  "parrot", "pelican", "puffin", "quail",
  "raven",  "robin",  "salmon", "seal",   "shrike", "sparrow", "stork", "swan",
  "tapir",  "thrush", "toucan", "turtle", "walrus", "weasel", "wombat", "yak"};

} // namespace

std::string readable_vm_name(std::uint64_t draw, int attempt) {
  auto adjective = adjectives[draw % adjectives.size()];
  auto noun = nouns[(draw / adjectives.size()) % nouns.size()];
  std::string name = std::string(adjective) + "-" + std::string(noun);
  if (attempt >= 4)
    name += "-" + std::to_string(2 + (draw / (adjectives.size() * nouns.size())) % 998);
  return name;
}

std::uint64_t random_draw() {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine();
}

} // namespace banger
