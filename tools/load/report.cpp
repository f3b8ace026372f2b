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

} // namespace

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
  if (report.reconnects)
    out << "reconnected " << report.reconnects << " times to a restarted daemon\n";
  out << "cleanup: " << report.cleaned_up << " VMs deleted";
  if (report.left_behind)
    out << ", " << report.left_behind << " left behind (see errors above)";
  out << "\n";
  return out.str();
}

} // namespace banger::load
