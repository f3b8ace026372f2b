// What `banger` prints about a cluster: `cluster status` and the parts of
// `vm ls` only a cluster has (hosts that did not answer).
#include "tools/cli/output.hpp"

namespace banger::cli {

using nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : ", ") + w;
  return out;
}

} // namespace

json to_json(const ClusterStatus& status) {
  json hosts = json::array();
  for (const auto& h : status.hosts)
    hosts.push_back({{"id", h.id},
                     {"address", h.address},
                     {"state", h.state},
                     {"since_us", h.since_us},
                     {"rtt_us", h.rtt_us},
                     {"vms", h.vms},
                     {"cpus_free", h.cpus_free},
                     {"memory_free_mib", h.memory_free_mib},
                     {"version", h.version}});
  return json{{"self", status.self}, {"hosts", hosts}};
}

std::string unreachable_warning(const std::vector<std::string>& hosts) {
  if (hosts.empty())
    return {};
  return "warning: " + join(hosts) + " did not answer; " + (hosts.size() == 1 ? "its" : "their") +
         " VMs show state unknown\n";
}

std::string render_vm_list(const VmList& list, const ImageNames& images, std::int64_t now_us) {
  return render_vm_table(list.vms, images, now_us) + unreachable_warning(list.unreachable);
}

std::string render_cluster_status(const ClusterStatus& status, std::int64_t now_us) {
  std::vector<std::vector<std::string>> rows{
    {"HOST", "ADDRESS", "STATE", "SINCE", "RTT", "VMS", "CPUS-FREE", "MEM-FREE", "VERSION"}};
  for (const auto& h : status.hosts) {
    // A host never heard from has no figures: zeros would read as "full".
    bool seen = !h.version.empty();
    auto figure = [&](std::uint64_t n, const char* unit) {
      return seen ? std::to_string(n) + unit : std::string("-");
    };
    rows.push_back({h.id == status.self ? h.id + " (self)" : h.id, h.address, h.state,
                    format_age(h.since_us, now_us), h.rtt_us > 0 ? format_ms(h.rtt_us) : "-",
                    figure(h.vms, ""), figure(h.cpus_free, ""),
                    figure(h.memory_free_mib, " MiB"), seen ? h.version : "-"});
  }
  return render_table(rows);
}

} // namespace banger::cli
