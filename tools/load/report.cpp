#include "tools/load/report.hpp"

#include <cstdio>
#include <sstream>

namespace banger::load {

namespace {

constexpr std::size_t max_samples = 5;

nlohmann::json latency_json(const Histogram& h) {
  return {{"p50", h.quantile(0.50)},  {"p90", h.quantile(0.90)},
          {"p99", h.quantile(0.99)},  {"p99_9", h.quantile(0.999)},
          {"max", h.max()},           {"mean", h.mean()},
          {"min", h.min()}};
}

nlohmann::json run_json(const RunResult& run) {
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [name, op] : run.stats.ops) {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [code, samples] : op.errors_by_code)
      errors[code] = {{"count", samples.count}, {"op_ids", samples.op_ids}};
    ops[name] = {{"count", op.latency.count()},
                 {"errors", op.errors},
                 {"throughput", run.seconds > 0 ? double(op.latency.count()) / run.seconds : 0},
                 {"latency_us", latency_json(op.latency)},
                 {"errors_by_code", errors}};
  }
  return {{"seconds", run.seconds},
          {"units", run.stats.units},
          {"failed_units", run.stats.failed_units},
          {"throughput", run.throughput()},
          {"errors", run.stats.errors()},
          {"operations", ops}};
}

nlohmann::json phase_json(const PhaseStats& p) {
  nlohmann::json j = {{"ops", p.ops}, {"errors", p.errors}, {"errors_by_code", p.errors_by_code}};
  if (p.first_error_us)
    j["first_error_after_ms"] = double(*p.first_error_us) / 1000.0;
  if (p.last_error_us)
    j["last_error_after_ms"] = double(*p.last_error_us) / 1000.0;
  return j;
}

void cluster_json(nlohmann::json& j, const Report& report) {
  const auto& stats = report.banger.stats;
  nlohmann::json entries = nlohmann::json::array();
  for (std::size_t i = 0; i < report.entry_hosts.size(); ++i)
    entries.push_back({{"host", report.entry_hosts[i]},
                       {"address", i < report.daemons.size() ? report.daemons[i] : ""}});
  j["cluster"] = {{"entries", entries},
                  {"entry_policy", report.entry_policy},
                  {"placement", report.placement},
                  {"cross_host_share", report.cross_host_share
                                         ? nlohmann::json(*report.cross_host_share)
                                         : nlohmann::json()}};
  nlohmann::json by_entry = nlohmann::json::object();
  for (const auto& [host, e] : stats.by_entry)
    by_entry[host] = {{"count", e.latency.count()},
                      {"errors", e.errors},
                      {"latency_us", latency_json(e.latency)}};
  j["entries"] = by_entry;
  nlohmann::json routes = {{"local", nlohmann::json::object()}, {"cross", nlohmann::json::object()}};
  for (const auto& [route, ops] : stats.by_route)
    for (const auto& [name, h] : ops)
      routes[route == Route::local ? "local" : "cross"][name] = {{"count", h.count()},
                                                                 {"latency_us", latency_json(h)}};
  j["routes"] = routes;
  if (report.fault) {
    const auto& f = *report.fault;
    j["fault"] = {{"action", f.action},        {"host", f.host},
                  {"command", f.command},      {"ran", f.ran},
                  {"at_s", f.at_s},            {"exit_status", f.exit_status},
                  {"before", phase_json(stats.phases[0])},
                  {"after", phase_json(stats.phases[1])}};
  }
}

std::string ms(std::uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", double(us) / 1000.0);
  return buf;
}

void run_text(std::ostringstream& out, const RunResult& run) {
  char line[256];
  std::snprintf(line, sizeof line, "  %llu units in %.2f s: %.1f units/s, %llu failed\n",
                static_cast<unsigned long long>(run.stats.units), run.seconds, run.throughput(),
                static_cast<unsigned long long>(run.stats.failed_units));
  out << line;
  std::snprintf(line, sizeof line, "  %-14s %8s %9s %8s %8s %8s %8s %8s %7s\n", "operation",
                "count", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors");
  out << line;
  for (const auto& [name, op] : run.stats.ops) {
    const auto& h = op.latency;
    std::snprintf(line, sizeof line, "  %-14s %8llu %9.1f %8s %8s %8s %8s %8s %7llu\n",
                  name.c_str(), static_cast<unsigned long long>(h.count()),
                  run.seconds > 0 ? double(h.count()) / run.seconds : 0.0,
                  ms(h.quantile(0.5)).c_str(), ms(h.quantile(0.9)).c_str(),
                  ms(h.quantile(0.99)).c_str(), ms(h.quantile(0.999)).c_str(),
                  ms(h.max()).c_str(), static_cast<unsigned long long>(op.errors));
    out << line;
    for (const auto& [code, samples] : op.errors_by_code) {
      out << "    " << code << ": " << samples.count << " (e.g.";
      for (const auto& id : samples.op_ids)
        out << " " << (id.empty() ? "<no op_id>" : id);
      out << ")\n";
    }
  }
}

void cluster_text(std::ostringstream& out, const Report& report) {
  const auto& stats = report.banger.stats;
  char line[256];
  out << "by entry host (every request):\n";
  for (const auto& [host, e] : stats.by_entry) {
    std::snprintf(line, sizeof line, "  %-14s %8llu requests, p50 %s ms, p99 %s ms, %llu errors\n",
                  host.c_str(), static_cast<unsigned long long>(e.latency.count()),
                  ms(e.latency.quantile(0.5)).c_str(), ms(e.latency.quantile(0.99)).c_str(),
                  static_cast<unsigned long long>(e.errors));
    out << line;
  }
  for (const auto& [route, ops] : stats.by_route) {
    out << (route == Route::local ? "entered at the VM's own host:\n"
                                  : "entered at another host than the VM's:\n");
    for (const auto& [name, h] : ops) {
      std::snprintf(line, sizeof line, "  %-14s %8llu, p50 %s ms, p99 %s ms\n", name.c_str(),
                    static_cast<unsigned long long>(h.count()), ms(h.quantile(0.5)).c_str(),
                    ms(h.quantile(0.99)).c_str());
      out << line;
    }
  }
  if (report.fault) {
    const auto& f = *report.fault;
    if (!f.ran) {
      out << "fault: " << f.action << " " << f.host << " did not run (the run ended first)\n";
      return;
    }
    std::snprintf(line, sizeof line, "fault: %s %s at %.2f s (command exit status %d)\n",
                  f.action.c_str(), f.host.c_str(), f.at_s, f.exit_status);
    out << line;
    const char* side[] = {"  before", "  after"};
    for (int i = 0; i < 2; ++i) {
      const auto& p = stats.phases[i];
      out << side[i] << ": " << p.ops << " requests, " << p.errors << " errors";
      for (const auto& [code, n] : p.errors_by_code)
        out << " " << code << "=" << n;
      if (p.first_error_us)
        out << "; first " << ms(*p.first_error_us) << " ms, last " << ms(*p.last_error_us)
            << " ms after the fault";
      out << "\n";
    }
  }
}

} // namespace

void EntryStats::merge(const EntryStats& other) {
  latency.merge(other.latency);
  errors += other.errors;
}

void PhaseStats::merge(const PhaseStats& other) {
  ops += other.ops;
  errors += other.errors;
  for (const auto& [code, n] : other.errors_by_code)
    errors_by_code[code] += n;
  if (other.first_error_us && (!first_error_us || *other.first_error_us < *first_error_us))
    first_error_us = other.first_error_us;
  if (other.last_error_us && (!last_error_us || *other.last_error_us > *last_error_us))
    last_error_us = other.last_error_us;
}

void OpStats::failed(std::uint64_t us, const std::string& code, const std::string& op_id) {
  latency.record(us);
  ++errors;
  auto& samples = errors_by_code[code];
  ++samples.count;
  if (samples.op_ids.size() < max_samples)
    samples.op_ids.push_back(op_id);
}

void OpStats::merge(const OpStats& other) {
  latency.merge(other.latency);
  errors += other.errors;
  for (const auto& [code, samples] : other.errors_by_code) {
    auto& mine = errors_by_code[code];
    mine.count += samples.count;
    for (const auto& id : samples.op_ids)
      if (mine.op_ids.size() < max_samples)
        mine.op_ids.push_back(id);
  }
}

void Stats::merge(const Stats& other) {
  for (const auto& [name, op] : other.ops)
    ops[name].merge(op);
  units += other.units;
  failed_units += other.failed_units;
  for (const auto& [host, e] : other.by_entry)
    by_entry[host].merge(e);
  for (const auto& [route, ops] : other.by_route)
    for (const auto& [name, h] : ops)
      by_route[route][name].merge(h);
  phases[0].merge(other.phases[0]);
  phases[1].merge(other.phases[1]);
}

std::uint64_t Stats::errors() const {
  std::uint64_t total = 0;
  for (const auto& [name, op] : ops)
    total += op.errors;
  return total;
}

nlohmann::json to_json(const Report& report) {
  auto j = run_json(report.banger);
  j["scenario"] = report.scenario;
  j["concurrency"] = report.concurrency;
  j["vms"] = report.vms;
  j["seed"] = report.seed;
  j["daemons"] = report.daemons;
  j["cleanup"] = {{"deleted", report.cleaned_up}, {"left_behind", report.left_behind}};
  j["reconnects"] = report.reconnects;
  if (report.cluster)
    cluster_json(j, report);
  if (report.floor) {
    auto floor = run_json(*report.floor);
    auto base = report.floor->throughput();
    if (!report.floor_only)
      floor["fraction"] = base > 0 ? report.banger.throughput() / base : 0;
    j["floor"] = floor;
    j["floor_only"] = report.floor_only;
  }
  return j;
}

std::string to_text(const Report& report) {
  std::ostringstream out;
  out << "banger-load: scenario " << report.scenario << ", concurrency " << report.concurrency;
  if (report.vms)
    out << ", " << report.vms << " VMs";
  out << ", seed " << report.seed << "\n";
  out << "banger (" << (report.daemons.size() == 1 ? report.daemons.front()
                                                     : std::to_string(report.daemons.size())
                                                         + " daemons")
      << "):\n";
  if (!report.floor_only)
    run_text(out, report.banger);
  else
    out << "  not run (--floor-only)\n";
  if (report.floor) {
    out << "floor (same work in-process, no actors, no remoting):\n";
    run_text(out, *report.floor);
    auto base = report.floor->throughput();
    char line[128];
    std::snprintf(line, sizeof line, "banger reaches %.2f of the floor's throughput\n",
                  base > 0 ? report.banger.throughput() / base : 0.0);
    if (!report.floor_only)
      out << line;
  }
  if (report.cluster)
    cluster_text(out, report);
  if (report.reconnects)
    out << "reconnected " << report.reconnects << " times to a restarted daemon\n";
  out << "cleanup: " << report.cleaned_up << " VMs deleted";
  if (report.left_behind)
    out << ", " << report.left_behind << " left behind (see errors above)";
  out << "\n";
  return out.str();
}

} // namespace banger::load
