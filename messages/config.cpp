#include "messages/config.hpp"

#include <cstring>

#include "messages/register.hpp"
#include "messages/settings_table.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace banger {

Config::Config() {
  register_messages(*this);
  load<caf::io::middleman>();
  // Heartbeats every second from every banger process. bangerd on a
  // cluster member also sets middleman.connection-timeout
  // (cluster.link-timeout, tools/bangerd/main.cpp): a connection whose peer
  // sent nothing, not even a heartbeat, for that long is dropped, which is
  // how a hung or cut-off host is noticed. Heartbeats do reach the peer over
  // caf_openssl (idle host links stay up under tests/cluster); an earlier
  // reading that they did not predates the OpenSSL error-queue fix
  // (tls_error_queue.cpp). A host outside a cluster keeps the timeout off;
  // its helper link has its own ping.
  set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  // An idle CAF 0.17 worker polls its queue: 100 spins, then 500 more
  // tries 50 us apart (a nanosleep and a context switch each), and only
  // then waits on a condition variable that new work signals. banger's
  // processes are idle between messages most of the time, so that middle
  // stage woke each process ~30,000 times a second under load. Without it
  // (0 attempts), context switches per lifecycle fell from 175 to 95
  // (bangerd), 167 to 49 (banger-helper) and 125 to 16 (client) and
  // throughput did not drop (BENCHMARKS.md). A banger.conf can still set it.
  set("work-stealing.moderate-poll-attempts", std::size_t{0});
  set("logger.verbosity", caf::atom("quiet"));
  set("logger.console", caf::atom("none"));

  // Each key is declared in the type CAF's format spells it in and bound to
  // raw_, which starts at the table's default; parse_text hands every value
  // to the table's validator.
  auto table = settings_table();
  raw_.resize(table.size());
  const Settings defaults;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& key = table[i];
    auto& raw = raw_[i];
    auto text = key.value(defaults);
    // Spelled as string_views: clang finds no implicit conversion from the
    // table's `const char*` to CAF 0.17's string_view (g++ does).
    caf::string_view section{key.section, std::strlen(key.section)};
    caf::string_view name{key.key, std::strlen(key.key)};
    caf::string_view help{key.help, std::strlen(key.help)};
    opt_group group{custom_options_, section};
    switch (key.syntax) {
      case SettingSyntax::string:
        raw.text = text;
        group.add(raw.text, name, help);
        break;
      case SettingSyntax::integer:
        raw.integer = std::stoll(text);
        group.add(raw.integer, name, help);
        break;
      case SettingSyntax::boolean:
        raw.boolean = text == "true";
        group.add(raw.boolean, name, help);
        break;
      case SettingSyntax::duration:
        raw.duration = parse_setting_duration(text).value();
        group.add(raw.duration, name, help);
        break;
    }
  }
}

namespace {

// A value CAF parsed, back as banger.conf text for the table's validator.
// A duration that is not whole milliseconds keeps its nanoseconds, which
// the validator refuses with the units it accepts.
std::string as_text(SettingSyntax syntax, const std::string& text, std::int64_t integer,
                    bool boolean, caf::timespan duration) {
  switch (syntax) {
    case SettingSyntax::string:
      return text;
    case SettingSyntax::integer:
      return std::to_string(integer);
    case SettingSyntax::boolean:
      return boolean ? "true" : "false";
    case SettingSyntax::duration:
      if (duration.count() % 1'000'000 == 0)
        return std::to_string(duration.count() / 1'000'000) + "ms";
      return std::to_string(duration.count()) + "ns";
  }
  return text;
}

} // namespace

Status Config::read(const std::string& home_dir, const std::vector<std::string>& args) {
  home = home_dir;
  auto file = std::filesystem::path(home) / "banger.conf";
  std::stringstream ini;
  if (std::filesystem::exists(file)) {
    std::ifstream in(file);
    if (!in)
      return Error{Errc::invalid_argument, "cannot read " + file.string()};
    ini << in.rdbuf();
  }
  return parse_text(ini.str(), file.string(), args);
}

Status Config::parse_text(const std::string& text, const std::string& origin,
                          const std::vector<std::string>& args) {
  std::istringstream ini(text);
  string_list list(args.begin(), args.end());
  if (auto err = parse(list, ini))
    return Error{Errc::invalid_argument,
                 "bad configuration (" + origin + " or flags): " + caf::to_string(err)};
  if (!remainder.empty())
    return Error{Errc::invalid_argument, "unexpected argument: " + remainder.front()};
  auto fail = [&](const Error& error) {
    return Error{Errc::invalid_argument,
                 "bad configuration (" + origin + " or flags): " + error.message};
  };
  auto table = settings_table();
  Settings parsed;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& raw = raw_[i];
    auto value = as_text(table[i].syntax, raw.text, raw.integer, raw.boolean, raw.duration);
    if (auto st = apply_setting(parsed, table[i].name(), value); !st)
      return fail(st.error());
  }
  if (auto st = check_settings(parsed); !st)
    return fail(st.error());
  settings = std::move(parsed);
  return {};
}

} // namespace banger
