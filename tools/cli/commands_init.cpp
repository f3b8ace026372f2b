// `banger init`: creates or completes an installation (tools/cli/init.hpp),
// then says how to start what it installed. Needs no daemon and no CAF.
#include "tools/cli/commands.hpp"
#include "tools/cli/init.hpp"

#include "messages/guest_dns.hpp"
#include "messages/settings.hpp"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace banger::cli {

namespace {

/// How to run `program`: its bare name when $PATH finds the copy next to
/// this banger, else that copy's path (a build tree), else the bare name.
std::string program_path(const std::string& program) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return program;
  auto dir = self.parent_path();
  if (!std::filesystem::exists(dir / program, ec))
    return program;
  if (const char* path = std::getenv("PATH")) {
    std::istringstream parts(path);
    for (std::string part; std::getline(parts, part, ':');)
      if (!part.empty() && std::filesystem::equivalent(part, dir, ec))
        return program;
  }
  return (dir / program).string();
}

} // namespace

std::vector<std::string> init_next_steps(const std::string& home, bool cluster) {
  auto helper = program_path("banger-helper");
  auto daemon = program_path("bangerd");
  auto banger = program_path("banger");
  std::vector<std::string> steps{
    helper + " --home " + home + " &   # as root: bridge, taps, VMMs",
    daemon + " --home " + home + " &",
    banger + " --home " + home + " daemon status",
  };
  if (cluster)
    steps.push_back(banger + " --home " + home +
                    " cluster status   # once every host runs: all up");
  if (home == default_home)
    steps.push_back("or, with the units `make install` puts in /etc/systemd/system: "
                    "systemctl enable --now banger-helper bangerd");
  return steps;
}

int cmd_init(Context& ctx) {
  const auto& inv = ctx.inv;
  std::vector<std::string> args;
  for (const auto& name : {"--vmm", "--port", "--daemon-group", "--cluster-ca", "--host-id"})
    if (inv.has(name))
      args.push_back(std::string(name) + "=" + inv.value(name));
  for (const auto& set : inv.values("--set"))
    args.push_back("--set=" + set);
  if (inv.has("--force"))
    args.push_back("--force");
  auto options = parse_init_args(args);
  if (!options) {
    std::cerr << "error: " << options.error().message << "\n"
              << usage_line(*inv.command) << "\n";
    return exit_usage;
  }
  options->home = inv.global.home;
  auto report = init_home(*options);
  if (!report)
    return report_error(ctx, report.error().code, report.error().message, "");
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : report->entries)
    entries.push_back(
      {{"path", e.path}, {"action", std::string(to_string(e.action))}, {"note", e.note}});
  const auto& s = report->settings;
  auto dns = guest_dns(s.network_dns);
  nlohmann::json network = {{"bridge", s.network_bridge}, {"subnet", s.network_subnet},
                            {"nat", s.network_nat}, {"dns", dns}};
  auto steps = init_next_steps(inv.global.home, !s.cluster_host_id.empty());
  std::string text = report->render() + "initialized " + inv.global.home + "\n"
                     + render_guest_network(s, dns) + "\nnext:\n";
  for (const auto& step : steps)
    text += "  " + step + "\n";
  print(ctx, text,
        {{"home", inv.global.home}, {"entries", entries}, {"guest_network", network}, {"next", steps}});
  return exit_ok;
}

} // namespace banger::cli
