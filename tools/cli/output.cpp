#include "tools/cli/output.hpp"

#include "messages/log.hpp"
#include "messages/published_ports.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace banger::cli {

using nlohmann::json;

namespace {

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

std::string image_label(const std::string& image_id, const ImageNames& images) {
  auto it = images.find(image_id);
  return it != images.end() ? it->second : or_dash(image_id.substr(0, 8));
}

// Aligned `key: value` lines.
class Fields {
public:
  void add(std::string key, std::string value) {
    rows_.emplace_back(std::move(key), std::move(value));
  }
  std::string str() const {
    std::size_t width = 0;
    for (const auto& [k, v] : rows_)
      width = std::max(width, k.size());
    std::string out;
    for (const auto& [k, v] : rows_) {
      out += k + ":" + std::string(width - k.size() + 1, ' ') + v + "\n";
    }
    return out;
  }

private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

} // namespace

// -- JSON --------------------------------------------------------------------

json to_json(const SavedState& s) {
  if (s.empty())
    return nullptr;
  return json{{"state_path", s.state_path},
              {"memory_path", s.memory_path},
              {"size", s.size},
              {"checksum", s.checksum},
              {"saved_at_us", s.saved_at_us},
              {"vmm", s.vmm}};
}

json to_json(const VmRecord& vm) {
  const auto& r = vm.runtime;
  json ports = json::array();
  for (const auto& port : vm.ports)
    ports.push_back(
      {{"host_port", port.host_port}, {"guest_port", port.guest_port}, {"protocol", port.protocol}});
  json snapshots = json::array();
  for (const auto& snap : vm.snapshots)
    snapshots.push_back({{"name", snap.name},
                         {"created_at_us", snap.created_at_us},
                         {"from", std::string(to_string(snap.from))},
                         {"disk_path", snap.disk_path},
                         {"disk_size", snap.disk_size},
                         {"memory", to_json(snap.memory)},
                         {"op_id", snap.op_id}});
  return json{
    {"id", vm.id},
    {"name", vm.name},
    {"image_id", vm.image_id},
    {"cpus", vm.cpus},
    {"memory_mib", vm.memory_mib},
    {"created_at_us", vm.created_at_us},
    {"updated_at_us", vm.updated_at_us},
    {"state", std::string(to_string(r.state))},
    {"stage", r.stage},
    {"pid", r.pid},
    {"pid_start_time", r.pid_start_time},
    {"api_socket", r.api_socket},
    {"vsock_path", r.vsock_path},
    {"vsock_cid", r.vsock_cid},
    {"guest_ip", r.guest_ip},
    {"mac", r.mac},
    {"tap", r.tap},
    {"rootfs_path", r.rootfs_path},
    {"vm_dir", r.vm_dir},
    {"log_path", r.log_path},
    {"last_error", r.last_error},
    {"last_stop", std::string(to_string(r.last_stop))},
    {"stage_deadline_us", r.stage_deadline_us},
    {"host", vm.host},
    {"ports", ports},
    {"boot",
     {{"vmm_spawned_us", r.boot.vmm_spawned_us},
      {"configured_us", r.boot.configured_us},
      {"instance_started_us", r.boot.instance_started_us},
      {"guest_ready_us", r.boot.guest_ready_us},
      {"agent_ready_us", r.boot.agent_ready_us}}},
    {"agent", r.agent},
    {"saved_state", to_json(r.saved)},
    {"snapshots", snapshots},
  };
}

json to_json(const Image& image) {
  return json{{"id", image.id},
              {"name", image.name},
              {"kernel_path", image.kernel_path},
              {"initrd_path", image.initrd_path},
              {"rootfs_path", image.rootfs_path},
              {"boot_args", image.boot_args},
              {"created_at_us", image.created_at_us},
              {"ssh", image.ssh}};
}

json to_json(const OperationStatus& op) {
  json stages = json::array();
  for (const auto& s : op.stages)
    stages.push_back({{"name", s.name},
                      {"started_at_us", s.started_at_us},
                      {"duration_us", s.duration_us},
                      {"ok", s.ok}});
  json error = nullptr;
  if (op.outcome == OperationOutcome::failed)
    error = {{"code", std::string(to_string(static_cast<Errc>(op.error_code)))},
             {"message", op.error_message}};
  return json{{"op_id", op.op_id},
              {"kind", op.kind},
              {"vm_id", op.vm_id},
              {"stage", op.stage},
              {"stages_done", op.stages_done},
              {"stages_total", op.stages_total},
              {"outcome", std::string(to_string(op.outcome))},
              {"error", error},
              {"started_at_us", op.started_at_us},
              {"finished_at_us", op.finished_at_us},
              {"stages", stages}};
}

json to_json(const Event& e) {
  json error = nullptr;
  if (e.error_code != 0) {
    auto code = static_cast<Errc>(e.error_code);
    error = {{"code", std::string(to_string(code))}, {"message", e.error_message}};
  }
  return {{"seq", e.seq},         {"at_us", e.at_us},     {"type", e.type},
          {"op_id", e.op_id},     {"vm_id", e.vm_id},     {"vm_name", e.vm_name},
          {"state", e.state},     {"kind", e.kind},       {"stage", e.stage},
          {"outcome", e.outcome}, {"error", error},       {"duration_us", e.duration_us}};
}

std::string render_event(const Event& e) {
  std::string vm = e.vm_name.empty() ? e.vm_id.substr(0, 8) : e.vm_name;
  std::string line = format_time(e.at_us) + "  " + e.type + "  " + (vm.empty() ? "-" : vm);
  if (e.type == "vm.state")
    line += "  " + e.state;
  else if (e.type == "op.stage")
    line += "  " + e.kind + " " + e.stage;
  else if (e.type == "op.done") {
    line += "  " + e.kind + " " + e.outcome + " in " + format_ms(e.duration_us);
    if (e.error_code != 0)
      line += ": " + e.error_message;
  }
  if (!e.op_id.empty())
    line += "  (" + e.op_id + ")";
  return line;
}

json to_json(const DaemonStatus& status) {
  json counts = json::object();
  for (const auto& c : status.vms_by_state)
    counts[c.state] = c.count;
  return json{{"version", status.version},
              {"protocol", status.protocol},
              {"home", status.home},
              {"vmm_kind", status.vmm_kind},
              {"helper_reachable", status.helper_reachable},
              {"rootfs_strategies", status.rootfs_strategies},
              {"accel", status.accel},
              {"vms_by_state", counts},
              {"started_at_us", status.started_at_us}};
}

json to_json(const DoctorReport& report) {
  json findings = json::array();
  bool clean = true;
  for (const auto& f : report.findings) {
    findings.push_back(
      {{"kind", f.kind}, {"object", f.object}, {"detail", f.detail}, {"fixed", f.fixed}});
    clean = clean && f.fixed;
  }
  return json{{"findings", findings}, {"clean", clean}};
}

std::string dump(const json& j) {
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

// -- text --------------------------------------------------------------------

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size())
      widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string format_age(std::int64_t since_us, std::int64_t now_us) {
  if (since_us <= 0)
    return "-";
  auto s = std::max<std::int64_t>(0, (now_us - since_us) / 1'000'000);
  if (s < 120)
    return std::to_string(s) + "s";
  if (s < 2 * 3600)
    return std::to_string(s / 60) + "m";
  if (s < 2 * 86400)
    return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string format_ms(std::int64_t us) {
  char buf[48];
  auto sign = us < 0 ? "-" : "";
  auto abs = us < 0 ? -us : us;
  std::snprintf(buf, sizeof buf, "%s%lld.%03lld ms", sign, static_cast<long long>(abs / 1000),
                static_cast<long long>(abs % 1000));
  return buf;
}

std::string format_time(std::int64_t unix_us) {
  return unix_us == 0 ? "-" : log::rfc3339_us(unix_us);
}

std::string render_vm_table(const std::vector<VmRecord>& vms, const ImageNames& images,
                            std::int64_t now_us) {
  // Outside a cluster no VM has a host: the column would only say "-".
  bool hosts = std::any_of(vms.begin(), vms.end(),
                           [](const VmRecord& vm) { return !vm.host.empty(); });
  std::vector<std::vector<std::string>> rows{
    {"NAME", "ID", "STATE", "IMAGE", "IP", "CPUS", "MEMORY", "AGE"}};
  if (hosts)
    rows[0].insert(rows[0].begin() + 2, "HOST");
  // Likewise: the column only when some VM publishes a port.
  bool ports = std::any_of(vms.begin(), vms.end(),
                           [](const VmRecord& vm) { return !vm.ports.empty(); });
  if (ports)
    rows[0].push_back("PORTS");
  for (const auto& vm : vms) {
    rows.push_back({vm.name, vm.id.substr(0, 8), std::string(to_string(vm.runtime.state)),
                    image_label(vm.image_id, images), or_dash(vm.runtime.guest_ip),
                    std::to_string(vm.cpus), std::to_string(vm.memory_mib) + " MiB",
                    format_age(vm.created_at_us, now_us)});
    if (hosts)
      rows.back().insert(rows.back().begin() + 2, or_dash(vm.host));
    if (ports)
      rows.back().push_back(or_dash(format_port_mappings(vm.ports)));
  }
  return render_table(rows);
}

std::string render_vm(const VmRecord& vm, const ImageNames& images) {
  const auto& r = vm.runtime;
  Fields f;
  f.add("name", vm.name);
  f.add("id", vm.id);
  if (!vm.host.empty())
    f.add("host", vm.host);
  f.add("state", std::string(to_string(r.state)));
  f.add("stage", or_dash(r.stage));
  auto image = images.find(vm.image_id);
  f.add("image", image != images.end() ? image->second + " (" + vm.image_id + ")"
                                       : or_dash(vm.image_id));
  f.add("cpus", std::to_string(vm.cpus));
  f.add("memory", std::to_string(vm.memory_mib) + " MiB");
  f.add("guest ip", or_dash(r.guest_ip));
  f.add("ports", or_dash(format_port_mappings(vm.ports)));
  f.add("mac", or_dash(r.mac));
  f.add("tap", or_dash(r.tap));
  f.add("vsock cid", r.vsock_cid ? std::to_string(r.vsock_cid) : "-");
  f.add("pid", r.pid ? std::to_string(r.pid) : "-");
  f.add("last stop", or_dash(std::string(to_string(r.last_stop))));
  f.add("last error", or_dash(r.last_error));
  auto timing = [](std::int64_t us) { return us ? format_ms(us) : std::string("-"); };
  f.add("boot: vmm spawned", timing(r.boot.vmm_spawned_us));
  f.add("boot: configured", timing(r.boot.configured_us));
  f.add("boot: instance started", timing(r.boot.instance_started_us));
  f.add("boot: guest ready", timing(r.boot.guest_ready_us)
                               + (r.boot.agent_ready_us ? " (agent)" : ""));
  f.add("agent", r.agent.empty() ? std::string("-") : "connected (banger-guest-agent " + r.agent + ")");
  if (!r.saved.empty())
    f.add("saved state", std::to_string(r.saved.size >> 20) + " MiB, saved "
                           + format_time(r.saved.saved_at_us) + " (" + r.saved.state_path + ")");
  f.add("api socket", or_dash(r.api_socket));
  f.add("vsock path", or_dash(r.vsock_path));
  f.add("rootfs", or_dash(r.rootfs_path));
  f.add("vm dir", or_dash(r.vm_dir));
  f.add("log", or_dash(r.log_path));
  f.add("created", format_time(vm.created_at_us));
  f.add("updated", format_time(vm.updated_at_us));
  return f.str();
}

std::string render_image_table(const std::vector<Image>& images, std::int64_t now_us) {
  std::vector<std::vector<std::string>> rows{{"NAME", "ID", "SSH", "KERNEL", "ROOTFS", "AGE"}};
  for (const auto& i : images)
    rows.push_back({i.name, i.id.substr(0, 8), i.ssh ? "yes" : "no", i.kernel_path,
                    i.rootfs_path, format_age(i.created_at_us, now_us)});
  return render_table(rows);
}

std::string render_image(const Image& image) {
  Fields f;
  f.add("name", image.name);
  f.add("id", image.id);
  f.add("kernel", image.kernel_path);
  f.add("initrd", or_dash(image.initrd_path));
  f.add("rootfs", image.rootfs_path);
  f.add("boot args", or_dash(image.boot_args));
  f.add("ssh", image.ssh ? "yes (starts wait for it unless --no-wait)" : "no");
  f.add("created", format_time(image.created_at_us));
  return f.str();
}

std::string render_op(const OperationStatus& op) {
  Fields f;
  f.add("op", op.op_id);
  f.add("kind", or_dash(op.kind));
  f.add("vm", or_dash(op.vm_id));
  f.add("outcome", std::string(to_string(op.outcome)));
  if (op.outcome == OperationOutcome::failed)
    f.add("error", std::string(to_string(static_cast<Errc>(op.error_code))) + ": "
                     + op.error_message);
  f.add("started", format_time(op.started_at_us));
  f.add("finished", format_time(op.finished_at_us));
  if (op.finished_at_us && op.started_at_us)
    f.add("duration", format_ms(op.finished_at_us - op.started_at_us));
  f.add("stage", or_dash(op.stage)
                   + (op.stages_total > 0 ? " (" + std::to_string(op.stages_done) + "/"
                                              + std::to_string(op.stages_total) + ")"
                                          : ""));
  std::string out = f.str();
  if (!op.stages.empty()) {
    std::vector<std::vector<std::string>> rows{{"STAGE", "DURATION", "RESULT"}};
    for (const auto& s : op.stages)
      rows.push_back({s.name, s.duration_us < 0 ? "running" : format_ms(s.duration_us),
                      s.duration_us < 0 ? "-" : (s.ok ? "ok" : "failed")});
    out += "\n" + render_table(rows);
  }
  return out;
}

std::string render_status(const DaemonStatus& status) {
  Fields f;
  f.add("version", status.version);
  f.add("protocol", std::to_string(status.protocol));
  f.add("home", status.home);
  f.add("vmm", status.vmm_kind);
  if (status.vmm_kind == "qemu")
    f.add("accel", or_dash(status.accel));
  f.add("helper", status.helper_reachable ? "reachable" : "unreachable");
  std::string strategies;
  for (const auto& s : status.rootfs_strategies)
    strategies += (strategies.empty() ? "" : ", ") + s;
  f.add("rootfs strategies", or_dash(strategies));
  std::string counts;
  std::uint32_t total = 0;
  for (const auto& c : status.vms_by_state) {
    counts += (counts.empty() ? "" : ", ") + c.state + " " + std::to_string(c.count);
    total += c.count;
  }
  f.add("vms", std::to_string(total) + (counts.empty() ? "" : " (" + counts + ")"));
  f.add("started", format_time(status.started_at_us));
  return f.str();
}

std::string render_doctor(const DoctorReport& report) {
  if (report.findings.empty())
    return "no findings\n";
  std::vector<std::vector<std::string>> rows{{"KIND", "OBJECT", "DETAIL", "FIXED"}};
  for (const auto& f : report.findings)
    rows.push_back({f.kind, f.object, f.detail, f.fixed ? "yes" : "no"});
  return render_table(rows);
}

} // namespace banger::cli
