#include "tools/load/options.hpp"

#include "tools/cli/values.hpp"

#include <algorithm>

namespace banger::load {

namespace {

constexpr std::uint64_t max_concurrency = 4096;

Parsed error(std::string message) {
  Parsed out;
  out.kind = Parsed::Kind::usage_error;
  out.text = "banger-load: " + message + "\nRun 'banger-load --help' for usage.\n";
  return out;
}

std::optional<Scenario> scenario_from(const std::string& name) {
  for (auto s : {Scenario::lifecycle, Scenario::churn, Scenario::read, Scenario::mixed,
                 Scenario::create, Scenario::list})
    if (to_string(s) == name)
      return s;
  return std::nullopt;
}

// "lifecycle=1,churn=3,read=6"
bool parse_mix(const std::string& text, Mix& mix) {
  Mix out{0, 0, 0};
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    auto eq = item.find('=');
    if (eq == std::string::npos)
      return false;
    auto weight = cli::parse_number(item.substr(eq + 1), 1000);
    if (!weight)
      return false;
    auto name = item.substr(0, eq);
    auto w = static_cast<std::uint32_t>(*weight);
    if (name == "lifecycle")
      out.lifecycle = w;
    else if (name == "churn")
      out.churn = w;
    else if (name == "read")
      out.read = w;
    else
      return false;
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  if (out.lifecycle + out.churn + out.read == 0)
    return false;
  mix = out;
  return true;
}

// "a,b,c" into its non-empty items; false when one is empty.
bool split_list(const std::string& text, std::vector<std::string>& out) {
  std::size_t pos = 0;
  for (;;) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.empty())
      return false;
    out.push_back(item);
    if (comma == std::string::npos)
      return true;
    pos = comma + 1;
  }
}

// A host id as cluster.host-id takes it: 1-32 of [a-z0-9-], not starting with '-'.
bool host_id_ok(const std::string& id) {
  if (id.empty() || id.size() > 32 || id.front() == '-')
    return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
}

// "0.25", "1", "0": a share from 0 to 1.
std::optional<double> parse_share(const std::string& text) {
  if (text.empty() || text.size() > 12)
    return std::nullopt;
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  if (used != text.size() || !(value >= 0.0 && value <= 1.0))
    return std::nullopt;
  return value;
}

} // namespace

std::string to_string(FaultAction action) {
  return action == FaultAction::kill ? "kill" : "stop";
}

std::string to_string(Scenario scenario) {
  switch (scenario) {
    case Scenario::lifecycle:
      return "lifecycle";
    case Scenario::churn:
      return "churn";
    case Scenario::read:
      return "read";
    case Scenario::mixed:
      return "mixed";
    case Scenario::create:
      return "create";
    case Scenario::list:
      return "list";
  }
  return "unknown";
}

std::string usage() {
  return R"(usage: banger-load [--home DIR | --daemon HOST:PORT... --cert F --key F --ca F
                    | --entry HOME[,HOME...]]
                   --scenario NAME --concurrency N (--duration 15s | --count N)
                   [--vms N] [--seed N] [--ramp-up 2s] [--floor | --floor-only]
                   [--json FILE]

Drives one or more bangerd over mutual TLS with N client actors and reports
per operation count, throughput, latency p50/p90/p99/p99.9/max and errors by
code. It always stops by itself and deletes the VMs it created.

scenarios (one "unit" each):
  lifecycle   create -> start -> stop -> delete of a new VM
  churn       start -> stop of one of --vms VMs (default: one per client)
  read        vm show of one of --vms VMs (default 16); every 10th: vm list
  mixed       lifecycle, churn and read units by --mix weights
  create      create one VM (deleted at the end unless --keep)
  list        vm ls of every VM there is (nothing prepared)

options:
  --home DIR          installation to drive (its banger.conf and client TLS
                      files); default $BANGER_HOME
  --daemon HOST:PORT  a daemon to drive (repeatable; clients spread across
                      them); needs --cert, --key and --ca
  --concurrency N     client actors (1-4096)
  --count N           stop after N units in total
  --duration D        stop starting units after D (e.g. 15s, 500ms, 2m)
  --vms N             VMs prepared for churn, read and mixed
  --seed N            seed of every random choice (default 1)
  --ramp-up D         start the clients evenly spread over D
  --image NAME        image to create VMs from (default banger-load; made
                      from tiny files under <home>/images when missing)
  --mix L,C,R         mixed weights, e.g. lifecycle=1,churn=3,read=6
  --show-probe D      one more client showing a VM every D; reported as
                      probe.show (vm show latency under the load)
  --floor             also run the same per-VM work in-process without actors
                      or remoting (needs --home and root; lifecycle, churn)
  --floor-only        run only the floor (the daemon is asked for its image
                      only); its report's "floor" object has the figures
  --keep              create, lifecycle: leave the VMs behind (no clean-up)
  --reconnect         when a daemon's connection is lost, reconnect and go on:
                      clients wait for it, requests in flight fail at once
                      as daemon_unreachable (for chaos runs)
  --record FILE       append a line per acknowledged create ("created ID NAME
                      OP_ID"), per delete sent ("delete ID OP_ID") and per
                      delete answered ("deleted ID OP_ID", "delete_not_found
                      ID OP_ID"); every request gets a client op_id
  --timeout D         per-request timeout (default 60s)
  --json FILE         write the report as JSON; top-level "throughput" is
                      completed units per second

cluster mode (instead of --home / --daemon):
  --entry HOME[,HOME...]  homes of cluster hosts whose daemons are entry
                      points (repeatable); their client certificates must
                      come from one CA (the cluster's), the first is used
  --entry-policy P    worker (default: client i uses entry i mod n) or
                      round-robin (each request the next entry)
  --hosts ID[,ID...]  place new VMs on these hosts in turn (VmSpec::host);
                      default: the cluster places them
  --cross-host-share P  share (0 to 1) of requests on a VM sent through an
                      entry that is not the VM's host; the rest go through
                      the VM's own host when it is an entry
  --kill-host ID      at --fault-at, run --fault-command with
  --stop-host ID        BANGER_FAULT_ACTION=kill|stop and BANGER_FAULT_HOST=ID
  --fault-at D        when (default 5s after the clients start)
  --fault-command CMD the shell command that does it (e.g. kill the host's
                      bangerd); the report counts errors before and after
  The report adds latency per entry host and, per operation, for requests
  entering at the VM's own host ("local") and at another ("cross").

exit codes: 0 no errors, 1 errors or set-up failure, 2 usage error
)";
}

Parsed parse(const std::vector<std::string>& args, const char* env_home) {
  Parsed out;
  auto& o = out.options;
  bool have_scenario = false;
  bool have_concurrency = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    auto flag = [&](bool& target) -> std::optional<Parsed> {
      if (inline_value)
        return error(arg + " takes no value");
      target = true;
      return std::nullopt;
    };
    auto need = [&]() -> bool {
      if (inline_value)
        return true;
      if (i + 1 >= args.size())
        return false;
      value = args[++i];
      return true;
    };
    auto number = [&](std::uint64_t max, std::uint64_t& target) -> std::optional<Parsed> {
      if (!need())
        return error(arg + " needs a number");
      auto n = cli::parse_number(value, max);
      if (!n)
        return error(arg + " expects a number from 0 to " + std::to_string(max) + ", got '"
                     + value + "'");
      target = *n;
      return std::nullopt;
    };
    auto duration = [&](std::chrono::milliseconds& target) -> std::optional<Parsed> {
      if (!need())
        return error(arg + " needs a duration");
      auto d = cli::parse_duration(value);
      if (!d)
        return error(arg + " expects a duration like 15s, 500ms or 2m, got '" + value + "'");
      target = *d;
      return std::nullopt;
    };
    auto text = [&](std::string& target) -> std::optional<Parsed> {
      if (!need() || value.empty())
        return error(arg + " needs a value");
      target = value;
      return std::nullopt;
    };
    std::optional<Parsed> failure;
    if (arg == "--help" || arg == "-h") {
      out.kind = Parsed::Kind::help;
      out.text = usage();
      return out;
    } else if (arg == "--home") {
      failure = text(o.home);
    } else if (arg == "--daemon") {
      std::string hp;
      failure = text(hp);
      if (!failure) {
        auto parsed = cli::parse_host_port(hp);
        if (!parsed)
          return error("--daemon expects HOST:PORT, got '" + hp + "'");
        o.daemons.push_back(Endpoint{parsed->host, parsed->port});
      }
    } else if (arg == "--cert") {
      failure = text(o.cert);
    } else if (arg == "--key") {
      failure = text(o.key);
    } else if (arg == "--ca") {
      failure = text(o.ca);
    } else if (arg == "--scenario") {
      std::string name;
      failure = text(name);
      if (!failure) {
        auto s = scenario_from(name);
        if (!s)
          return error("--scenario expects lifecycle, churn, read, mixed, create or list, got '"
                       + name + "'");
        o.scenario = *s;
        have_scenario = true;
      }
    } else if (arg == "--concurrency") {
      failure = number(max_concurrency, o.concurrency);
      have_concurrency = true;
    } else if (arg == "--count") {
      std::uint64_t n = 0;
      failure = number(1'000'000'000, n);
      o.count = n;
    } else if (arg == "--duration") {
      std::chrono::milliseconds d{0};
      failure = duration(d);
      o.duration = d;
    } else if (arg == "--vms") {
      failure = number(1'000'000, o.vms);
    } else if (arg == "--seed") {
      failure = number(~std::uint64_t{0}, o.seed);
    } else if (arg == "--ramp-up") {
      failure = duration(o.ramp_up);
    } else if (arg == "--image") {
      failure = text(o.image);
    } else if (arg == "--mix") {
      std::string mix;
      failure = text(mix);
      if (!failure && !parse_mix(mix, o.mix))
        return error("--mix expects weights like lifecycle=1,churn=3,read=6, got '" + mix + "'");
    } else if (arg == "--show-probe") {
      failure = duration(o.show_probe);
    } else if (arg == "--timeout") {
      failure = duration(o.request_timeout);
    } else if (arg == "--json") {
      failure = text(o.json_file);
    } else if (arg == "--floor") {
      failure = flag(o.floor);
    } else if (arg == "--floor-only") {
      failure = flag(o.floor_only);
      o.floor = true;
    } else if (arg == "--keep") {
      failure = flag(o.keep);
    } else if (arg == "--reconnect") {
      failure = flag(o.reconnect);
    } else if (arg == "--record") {
      failure = text(o.record_file);
    } else if (arg == "--entry") {
      std::string list;
      failure = text(list);
      if (!failure && !split_list(list, o.entries))
        return error("--entry expects HOME[,HOME...], got '" + list + "'");
    } else if (arg == "--entry-policy") {
      std::string policy;
      failure = text(policy);
      if (!failure && policy == "worker")
        o.entry_policy = EntryPolicy::worker;
      else if (!failure && policy == "round-robin")
        o.entry_policy = EntryPolicy::round_robin;
      else if (!failure)
        return error("--entry-policy expects worker or round-robin, got '" + policy + "'");
    } else if (arg == "--hosts") {
      std::string list;
      failure = text(list);
      if (!failure && !split_list(list, o.hosts))
        return error("--hosts expects ID[,ID...], got '" + list + "'");
      for (const auto& h : o.hosts)
        if (!host_id_ok(h))
          return error("--hosts: '" + h + "' is not a host id (1-32 of a-z, 0-9 and -)");
    } else if (arg == "--cross-host-share") {
      std::string share;
      failure = text(share);
      if (!failure) {
        auto p = parse_share(share);
        if (!p)
          return error("--cross-host-share expects a share from 0 to 1, got '" + share + "'");
        o.cross_host_share = *p;
      }
    } else if (arg == "--kill-host" || arg == "--stop-host") {
      std::string host;
      failure = text(host);
      if (!failure) {
        if (!host_id_ok(host))
          return error(arg + ": '" + host + "' is not a host id (1-32 of a-z, 0-9 and -)");
        if (o.fault && !o.fault->host.empty())
          return error("one fault per run: give one --kill-host or --stop-host");
        if (!o.fault)
          o.fault = Fault{};
        o.fault->action = arg == "--kill-host" ? FaultAction::kill : FaultAction::stop;
        o.fault->host = host;
      }
    } else if (arg == "--fault-at") {
      if (!o.fault)
        o.fault = Fault{};
      failure = duration(o.fault->at);
    } else if (arg == "--fault-command") {
      if (!o.fault)
        o.fault = Fault{};
      failure = text(o.fault->command);
    } else {
      return error("unknown argument '" + args[i] + "'");
    }
    if (failure)
      return *failure;
  }
  if (!have_scenario)
    return error("--scenario is required (lifecycle, churn, read, mixed, create or list)");
  if (!have_concurrency || o.concurrency == 0)
    return error("--concurrency N is required (1 to " + std::to_string(max_concurrency) + ")");
  if (o.count.has_value() == o.duration.has_value())
    return error("give exactly one of --count N and --duration D");
  if ((o.count && *o.count == 0) || (o.duration && o.duration->count() == 0))
    return error("--count and --duration must be greater than zero");
  if (!o.daemons.empty() && !o.home.empty())
    return error("give either --home or --daemon, not both");
  if (!o.daemons.empty() && (o.cert.empty() || o.key.empty() || o.ca.empty()))
    return error("--daemon needs --cert, --key and --ca (the client's TLS files)");
  if (o.daemons.empty() && (!o.cert.empty() || !o.key.empty() || !o.ca.empty()))
    return error("--cert, --key and --ca go with --daemon");
  if (o.cluster()) {
    if (!o.home.empty() || !o.daemons.empty())
      return error("--entry replaces --home and --daemon: give only --entry");
    if (o.floor)
      return error("--floor measures one host: not with --entry");
    if (o.cross_host_share && o.entries.size() < 2)
      return error("--cross-host-share needs two entries or more (one to be the VM's host, "
                   "one not)");
  } else if (!o.hosts.empty() || o.cross_host_share || o.fault
             || o.entry_policy != EntryPolicy::worker) {
    return error("--hosts, --cross-host-share, --entry-policy and faults need --entry");
  }
  if (o.fault && o.fault->host.empty())
    return error("--fault-at and --fault-command go with --kill-host or --stop-host");
  if (o.fault && o.fault->command.empty())
    return error("--" + to_string(o.fault->action) + "-host needs --fault-command (what kills "
                 "or stops that host here)");
  if (o.daemons.empty() && o.home.empty() && !o.cluster()) {
    if (env_home && *env_home)
      o.home = env_home;
    else
      return error("give --home DIR (or set BANGER_HOME) or --daemon HOST:PORT");
  }
  if (o.floor_only && (o.show_probe.count() > 0 || o.keep || !o.record_file.empty()))
    return error("--floor-only runs no banger load: no --show-probe, --keep or --record");
  if (o.floor && o.home.empty())
    return error("--floor needs --home (it uses that installation's settings and files)");
  if (o.floor && o.scenario != Scenario::lifecycle && o.scenario != Scenario::churn)
    return error("--floor applies to the lifecycle and churn scenarios");
  if (o.keep && o.scenario != Scenario::create && o.scenario != Scenario::lifecycle)
    return error("--keep applies to the create and lifecycle scenarios only");
  if (o.request_timeout.count() == 0)
    return error("--timeout must be greater than zero");
  if (o.vms == 0) {
    if (o.scenario == Scenario::read)
      o.vms = 16;
    else if (o.scenario == Scenario::churn || o.scenario == Scenario::mixed)
      o.vms = o.concurrency;
  }
  if (o.scenario == Scenario::churn && o.vms < o.concurrency)
    return error("churn gives each client its own VMs: --vms must be at least --concurrency");
  return out;
}

} // namespace banger::load
