// `banger cluster ca` (local: makes the cluster CA and SSH key) and `banger cluster
// status` (asks the daemon how it sees every member). docs/cluster.md.
#include "tools/cli/client.hpp"
#include "tools/cli/cluster_ca.hpp"
#include "tools/cli/commands.hpp"

#include <caf/all.hpp>

#include <filesystem>

namespace banger::cli {

int cmd_cluster_ca(Context& ctx) {
  const auto& inv = ctx.inv;
  std::error_code ec;
  auto dir = std::filesystem::absolute(inv.args[0], ec);
  if (ec)
    dir = inv.args[0];
  auto report = make_cluster_ca(dir, inv.has("--force"));
  if (!report)
    return report_error(ctx, report.error().code, report.error().message, "");
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : report->entries)
    entries.push_back(
      {{"path", e.path}, {"action", std::string(to_string(e.action))}, {"note", e.note}});
  std::vector<std::string> next{
    "banger init --home HOME --cluster-ca " + dir.string() +
      " --host-id ID --set cluster.hosts=ID1=IPV4:PORT,ID2=IPV4:PORT,...",
  };
  std::string text = report->render() + "cluster CA in " + dir.string() + "\n" +
                     "\nnext, on each host (its own --host-id, the same cluster.hosts on all):\n";
  for (const auto& step : next)
    text += "  " + step + "\n";
  text += "\n" + (dir / "ca.key").string() +
          " signs every member's credentials: init reads it and copies only ca.pem into "
          "the home; keep it readable by you alone, and off the hosts once they are set up.\n" +
          (dir / "id_ed25519").string() +
          " is the cluster's SSH key: init installs it as every home's, so an image built on "
          "any host accepts the CLI of every host.\n";
  print(ctx, text, {{"dir", dir.string()}, {"entries", entries}, {"next", next}});
  return exit_ok;
}

int cmd_cluster_status(Context& ctx) {
  auto status = ctx.session->call<ClusterStatus>(ClusterStatusRequest{client_envelope()},
                                                 ctx.timeout());
  if (!status)
    return report_error(ctx, status.error());
  print(ctx, render_cluster_status(*status, now_us()), to_json(*status));
  return exit_ok;
}

} // namespace banger::cli
