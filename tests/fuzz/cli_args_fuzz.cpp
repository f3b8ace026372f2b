// The CLI's argument parser (tools/cli/args.hpp). The input is argv without
// argv[0], one argument per NUL-separated chunk. An accepted command line is
// rendered back to a canonical argv, which must parse to the same invocation.
#include "tests/fuzz/fuzz_check.hpp"
#include "tools/cli/args.hpp"
#include "messages/disk_size.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace cli = banger::cli;

namespace {

std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> argv;
  while (argv.size() < 64) {
    auto nul = text.find('\0');
    argv.emplace_back(text.substr(0, nul));
    if (nul == std::string_view::npos)
      break;
    text.remove_prefix(nul + 1);
  }
  return argv;
}

// The largest unit that divides `ms` exactly, as parse_duration spells it.
std::string render_duration(std::chrono::milliseconds ms) {
  auto n = static_cast<unsigned long long>(ms.count());
  if (n % 3'600'000 == 0)
    return std::to_string(n / 3'600'000) + "h";
  if (n % 60'000 == 0)
    return std::to_string(n / 60'000) + "m";
  if (n % 1000 == 0)
    return std::to_string(n / 1000) + "s";
  return std::to_string(n) + "ms";
}

std::vector<std::string> render(const cli::Invocation& inv) {
  std::vector<std::string> argv;
  const auto& g = inv.global;
  argv.push_back("--home=" + g.home);
  for (auto [flag, value] : {std::pair{"--daemon", &g.daemon}, std::pair{"--cert", &g.cert},
                             std::pair{"--key", &g.key}, std::pair{"--ca", &g.ca}})
    if (!value->empty())
      argv.push_back(std::string(flag) + "=" + *value);
  if (g.output == cli::OutputFormat::json)
    argv.push_back("--output=json");
  if (g.timeout)
    argv.push_back("--timeout=" + render_duration(*g.timeout));
  std::string word;
  for (char c : inv.command->name + " ") {
    if (c != ' ') {
      word += c;
    } else if (!word.empty()) {
      argv.push_back(word);
      word.clear();
    }
  }
  for (const auto& [option, values] : inv.options) {
    const std::string& name = option; // (clang 14 cannot capture a binding)
    auto* spec = &*std::find_if(inv.command->options.begin(), inv.command->options.end(),
                                [&](const cli::OptionSpec& o) { return o.name == name; });
    for (const auto& value : values)
      argv.push_back(spec->kind == cli::ValueKind::none ? name : name + "=" + value);
  }
  argv.insert(argv.end(), inv.args.begin(), inv.args.end());
  if (!inv.rest.empty()) {
    argv.push_back("--");
    argv.insert(argv.end(), inv.rest.begin(), inv.rest.end());
  }
  return argv;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto argv = split_args(banger::fuzz::as_text(data, size));
  auto outcome = cli::parse(argv, nullptr);
  switch (outcome.kind) {
  case cli::ParseOutcome::Kind::usage_error:
    FUZZ_CHECK(outcome.text.starts_with("error: "));
    return 0;
  case cli::ParseOutcome::Kind::help:
    FUZZ_CHECK(!outcome.text.empty());
    return 0;
  case cli::ParseOutcome::Kind::run:
    break;
  }
  const auto& inv = outcome.invocation;
  FUZZ_CHECK(inv.command != nullptr);
  FUZZ_CHECK(!inv.global.home.empty());
  const auto& spec = *inv.command;
  auto n = static_cast<int>(inv.args.size());
  FUZZ_CHECK(n >= spec.min_args && (spec.max_args < 0 || n <= spec.max_args));
  FUZZ_CHECK(spec.passthrough || inv.rest.empty());
  // Every option is one of the command's, its values checked by kind.
  for (const auto& [option, values] : inv.options) {
    const std::string& name = option;
    auto it = std::find_if(spec.options.begin(), spec.options.end(),
                           [&](const cli::OptionSpec& o) { return o.name == name; });
    FUZZ_CHECK(it != spec.options.end());
    FUZZ_CHECK(!values.empty());
    FUZZ_CHECK(values.size() == 1 || it->repeatable || it->kind == cli::ValueKind::none);
    for (const auto& value : values) {
      switch (it->kind) {
      case cli::ValueKind::number:
        FUZZ_CHECK(cli::parse_number(value, 0xffffffffu));
        break;
      case cli::ValueKind::duration:
        FUZZ_CHECK(cli::parse_duration(value));
        break;
      case cli::ValueKind::choice:
        FUZZ_CHECK(std::find(it->choices.begin(), it->choices.end(), value) != it->choices.end());
        break;
      case cli::ValueKind::text:
        FUZZ_CHECK(!value.empty());
        break;
      case cli::ValueKind::none:
        FUZZ_CHECK(value.empty());
        break;
      case cli::ValueKind::disk_size:
        FUZZ_CHECK(banger::parse_disk_size(value).ok());
        break;
      }
    }
  }
  for (const auto& o : spec.options)
    if (o.required)
      FUZZ_CHECK(inv.has(o.name));
  if (!inv.global.daemon.empty())
    FUZZ_CHECK(cli::parse_host_port(inv.global.daemon));

  // The canonical spelling parses to the same invocation.
  auto again = cli::parse(render(inv), nullptr);
  FUZZ_CHECK(again.kind == cli::ParseOutcome::Kind::run);
  const auto& inv2 = again.invocation;
  FUZZ_CHECK(inv2.command == inv.command);
  FUZZ_CHECK(inv2.options == inv.options);
  FUZZ_CHECK(inv2.args == inv.args);
  FUZZ_CHECK(inv2.rest == inv.rest);
  FUZZ_CHECK(inv2.global.home == inv.global.home && inv2.global.daemon == inv.global.daemon);
  FUZZ_CHECK(inv2.global.cert == inv.global.cert && inv2.global.key == inv.global.key
             && inv2.global.ca == inv.global.ca);
  FUZZ_CHECK(inv2.global.output == inv.global.output && inv2.global.timeout == inv.global.timeout);
  return 0;
}
