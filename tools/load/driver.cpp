#include "tools/load/driver.hpp"

#include "messages/config.hpp"
#include "messages/error.hpp"
#include "messages/home_layout.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/op_id.hpp"
#include "messages/tls.hpp"
#include "tools/load/client.hpp"

#include <caf/all.hpp>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <functional>
#include <latch>
#include <random>

namespace banger::load {

namespace {

using namespace detail;

VmActionRequest recorded_removal(const ClientPtr& c, const std::string& id) {
  auto request = action(id, VmAction::remove);
  if (auto* record = c->shared->record.get()) {
    request.env.op_id = mint_op_id();
    record->line("delete", id, request.env.op_id);
  }
  return request;
}

/// The daemon a request goes to. Outside a cluster: `fallback` (the
/// client's or the VM's daemon, as always). In a cluster: with
/// --cross-host-share and a known VM host, an entry that is (or is not) the
/// VM's host as the share says; among those, entries that are up first;
/// then the client's own (worker) or the next (round-robin).
std::size_t entry_for(const ClientPtr& c, const std::string& vm_host, std::size_t fallback) {
  auto& sh = *c->shared;
  if (!sh.options.cluster())
    return fallback;
  auto n = sh.links->size();
  std::vector<std::size_t> candidates;
  if (sh.options.cross_host_share && !vm_host.empty()) {
    bool cross = std::uniform_real_distribution<double>(0.0, 1.0)(c->rng)
                 < *sh.options.cross_host_share;
    for (std::size_t d = 0; d < n; ++d)
      if ((sh.entry_hosts[d] != vm_host) == cross)
        candidates.push_back(d);
  }
  if (candidates.empty())
    for (std::size_t d = 0; d < n; ++d)
      candidates.push_back(d);
  std::vector<std::size_t> up;
  for (auto d : candidates)
    if (sh.links->get(d).up)
      up.push_back(d);
  const auto& pool = up.empty() ? candidates : up;
  auto k = sh.options.entry_policy == EntryPolicy::worker ? c->index : c->next_entry++;
  return pool[k % pool.size()];
}

Target target_of(const ClientPtr& c, const std::string& vm_host, std::size_t fallback) {
  return Target{entry_for(c, vm_host, fallback), vm_host};
}

void remove_then(const ClientPtr& c, Target target, const std::string& id, UnitDone done) {
  auto request = recorded_removal(c, id);
  call<VmRecord>(c, "vm.delete", std::move(target), request,
                 [c, id, op_id = request.env.op_id, done](VmRecord* r) {
    if (auto* record = c->shared->record.get(); record && (r || c->last_code == "not_found"))
      record->line(r ? "deleted" : "delete_not_found", id, op_id);
    done(r != nullptr);
  });
}

VmCreateRequest new_vm(const ClientPtr& c) {
  VmCreateRequest create;
  create.env = envelope();
  const auto& hosts = c->shared->options.hosts;
  if (!hosts.empty())
    create.spec.host = hosts[(c->index + c->seq) % hosts.size()];
  create.spec.name = c->shared->prefix + "-" + std::to_string(c->index) + "-"
                     + std::to_string(c->seq++);
  create.spec.image = c->shared->options.image;
  if (c->shared->record)
    create.env.op_id = mint_op_id();
  return create;
}

void record_created(const ClientPtr& c, const VmRecord& vm, const std::string& op_id) {
  if (auto* record = c->shared->record.get())
    record->line("created", vm.id, op_id, vm.name);
}

void lifecycle_unit(const ClientPtr& c, UnitDone done) {
  auto daemon = c->index % c->shared->links->size();
  auto create = new_vm(c);
  auto op_id = create.env.op_id;
  auto placed = create.spec.host;
  call<VmRecord>(c, "vm.create", target_of(c, placed, daemon), std::move(create),
                 [c, daemon, done, op_id, placed](VmRecord* vm) {
    if (!vm) {
      done(false);
      return;
    }
    record_created(c, *vm, op_id);
    auto id = vm->id;
    // Every step picks its entry again: the cross-host share is per request.
    auto host = vm->host.empty() ? placed : vm->host;
    auto fail = [c, daemon, id, host, done] {
      remove_then(c, target_of(c, host, daemon), id, [done](bool) { done(false); });
    };
    call<VmRecord>(c, "vm.start", target_of(c, host, daemon), action(id, VmAction::start),
                   [c, daemon, id, host, done, fail](VmRecord* started) {
      if (!started) {
        fail();
        return;
      }
      call<VmRecord>(c, "vm.stop", target_of(c, host, daemon), action(id, VmAction::stop),
                     [c, daemon, id, host, done, fail](VmRecord* stopped) {
        if (!stopped) {
          fail();
          return;
        }
        remove_then(c, target_of(c, host, daemon), id, done);
      });
    });
  });
}

void read_unit(const ClientPtr& c, UnitDone done) {
  auto& vms = c->shared->vms;
  if (vms.empty() || c->rng() % 10 == 0) {
    VmListRequest list;
    list.env = envelope();
    call<VmList>(c, "vm.list", target_of(c, {}, c->index % c->shared->links->size()),
                 std::move(list), [done](VmList* l) { done(l != nullptr); });
    return;
  }
  auto& vm = vms[c->rng() % vms.size()];
  VmShowRequest show;
  show.env = envelope();
  show.ref = vm.id;
  call<VmRecord>(c, "vm.show", target_of(c, vm.host, vm.daemon), std::move(show),
                 [done](VmRecord* r) { done(r != nullptr); });
}

void churn_unit(const ClientPtr& c, UnitDone done) {
  if (c->owned.empty()) {
    read_unit(c, std::move(done));
    return;
  }
  auto& vm = c->shared->vms[c->owned[c->next_owned++ % c->owned.size()]];
  auto id = vm.id;
  auto daemon = vm.daemon;
  auto host = vm.host;
  call<VmRecord>(c, "vm.start", target_of(c, host, daemon), action(id, VmAction::start),
                 [c, daemon, id, host, done](VmRecord* started) {
    // Stop even after a failed start: the VM may be half up.
    call<VmRecord>(c, "vm.stop", target_of(c, host, daemon), action(id, VmAction::stop),
                   [done, ok = started != nullptr](VmRecord* stopped) {
                     done(ok && stopped != nullptr);
                   });
  });
}

void list_unit(const ClientPtr& c, UnitDone done) {
  VmListRequest list;
  list.env = envelope();
  call<VmList>(c, "vm.list", target_of(c, {}, c->index % c->shared->links->size()),
               std::move(list), [done](VmList* l) { done(l != nullptr); });
}

void create_unit(const ClientPtr& c, UnitDone done) {
  auto create = new_vm(c);
  auto op_id = create.env.op_id;
  auto placed = create.spec.host;
  call<VmRecord>(c, "vm.create", target_of(c, placed, c->index % c->shared->links->size()),
                 std::move(create), [c, done, op_id](VmRecord* vm) {
    if (vm)
      record_created(c, *vm, op_id);
    done(vm != nullptr);
  });
}

void next_unit(const ClientPtr& c);

void unit_done(const ClientPtr& c, bool ok) {
  if (ok)
    ++c->stats->units;
  else
    ++c->stats->failed_units;
  c->shared->last_end[c->index] = Clock::now();
  next_unit(c);
}

/// --reconnect: true while the client should wait for a daemon to come
/// back (at most one request timeout, then units fail as they would).
bool wait_for_links(const ClientPtr& c) {
  auto& sh = *c->shared;
  // In a cluster the entries that are up serve on while one is away.
  if (!sh.options.reconnect || sh.gate.closed() || sh.links->all_up()
      || (sh.options.cluster() && sh.links->any_up())) {
    c->waiting_since.reset();
    return false;
  }
  auto now = Clock::now();
  if (!c->waiting_since)
    c->waiting_since = now;
  if (now - *c->waiting_since >= sh.options.request_timeout)
    return false;
  c->self->delayed_send(c->self, wait_step, go_atom::value);
  return true;
}

void next_unit(const ClientPtr& c) {
  auto& sh = *c->shared;
  if (wait_for_links(c))
    return;
  if (!sh.gate.take()) {
    c->self->quit();
    sh.done.count_down();
    return;
  }
  UnitDone done = [c](bool ok) { unit_done(c, ok); };
  switch (sh.options.scenario) {
    case Scenario::lifecycle:
      lifecycle_unit(c, done);
      return;
    case Scenario::churn:
      churn_unit(c, done);
      return;
    case Scenario::read:
      read_unit(c, done);
      return;
    case Scenario::create:
      create_unit(c, done);
      return;
    case Scenario::list:
      list_unit(c, done);
      return;
    case Scenario::mixed: {
      auto& mix = sh.options.mix;
      auto pick = c->rng() % (mix.lifecycle + mix.churn + mix.read);
      if (pick < mix.lifecycle)
        lifecycle_unit(c, done);
      else if (pick < mix.lifecycle + mix.churn)
        churn_unit(c, done);
      else
        read_unit(c, done);
      return;
    }
  }
}

caf::behavior client(caf::event_based_actor* self, std::shared_ptr<Shared> shared,
                     std::size_t index, std::chrono::milliseconds delay) {
  auto c = make_client(self, shared);
  c->index = index;
  c->stats = &shared->stats[index];
  c->rng.seed(shared->options.seed * 1'000'003 + index);
  for (std::size_t i = index; i < shared->vms.size(); i += shared->stats.size())
    c->owned.push_back(i);
  shared->last_end[index] = Clock::now();
  self->delayed_send(self, delay, go_atom::value);
  return {[c](go_atom) { next_unit(c); }};
}

/// Shows the first prepared VM every `interval` until told to stop.
caf::behavior probe(caf::event_based_actor* self, std::shared_ptr<Shared> shared,
                    std::chrono::milliseconds interval) {
  auto c = make_client(self, shared);
  c->stats = &shared->probe_stats;
  self->send(self, go_atom::value);
  return {[c, interval](go_atom) {
    if (c->shared->probe_stop) {
      c->self->quit();
      c->shared->probe_done.count_down();
      return;
    }
    VmShowRequest show;
    show.env = envelope();
    auto& vm = c->shared->vms.front();
    show.ref = vm.id;
    call<VmRecord>(c, "probe.show", vm.daemon, std::move(show), [c, interval](VmRecord*) {
      c->self->delayed_send(c->self, interval, go_atom::value);
    });
  }};
}

/// --kill-host / --stop-host: runs the fault command once, at its time
/// from the clients' start, on its own thread; finish() cancels it if the
/// run ended first, else waits for the command.
class FaultRunner {
public:
  FaultRunner(Shared& shared, Clock::time_point started, Report& report) : shared_(shared) {
    const auto& fault = shared.options.fault;
    if (!fault)
      return;
    report.fault = FaultReport{to_string(fault->action), fault->host, fault->command};
    thread_ = std::thread([this, started, &report, f = *fault] {
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_until(lock, started + f.at, [this] { return over_; }))
          return;
      }
      shared_.fault_time = Clock::now();
      shared_.fault_fired.store(true, std::memory_order_release);
      report.fault->ran = true;
      report.fault->at_s = std::chrono::duration<double>(shared_.fault_time - started).count();
      // Host ids are [a-z0-9-]: safe inside single quotes.
      auto command = "BANGER_FAULT_ACTION=" + to_string(f.action) + " BANGER_FAULT_HOST='"
                     + f.host + "'; export BANGER_FAULT_ACTION BANGER_FAULT_HOST; " + f.command;
      auto status = std::system(command.c_str());
      report.fault->exit_status = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    });
  }
  FaultRunner(const FaultRunner&) = delete;
  FaultRunner& operator=(const FaultRunner&) = delete;
  ~FaultRunner() { finish(); }

  void finish() {
    {
      std::lock_guard lock(mutex_);
      over_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

private:
  Shared& shared_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool over_ = false;
  std::thread thread_;
};

} // namespace

DriverOutcome run_driver(const Options& o) {
  DriverOutcome out;
  auto& report = out.report;
  report.scenario = to_string(o.scenario);
  report.concurrency = o.concurrency;
  report.vms = o.vms;
  report.seed = o.seed;

  // Kept alive until the process ends: tearing down an actor system with
  // open TLS connections can hang in CAF 0.17 (docs/architecture.md).
  auto* cfg = new Config;
  std::vector<Endpoint> endpoints = o.daemons;
  std::vector<std::string> homes(endpoints.size()); // per daemon, where known
  std::vector<std::string> entry_hosts;
  if (o.cluster()) {
    endpoints.clear();
    homes = o.entries;
    for (std::size_t i = 0; i < o.entries.size(); ++i) {
      Config entry;
      if (auto st = entry.read(o.entries[i], {}); !st) {
        out.setup_error = "--entry " + o.entries[i] + ": " + st.error().message;
        return out;
      }
      endpoints.push_back(
        Endpoint{connect_host(entry.settings.daemon_listen), entry.settings.daemon_port});
      entry_hosts.push_back(entry.settings.cluster_host_id.empty()
                              ? "entry" + std::to_string(i + 1)
                              : entry.settings.cluster_host_id);
    }
  }
  const auto& tls_home = o.cluster() ? o.entries.front() : o.home;
  if (!tls_home.empty()) {
    if (auto st = cfg->read(tls_home, {}); !st) {
      out.setup_error = st.error().message;
      return out;
    }
    if (auto tls = enable_tls(*cfg, HomeLayout{tls_home}, TlsRole::client); !tls) {
      out.setup_error = "cannot use the client TLS credentials: " + tls.error().message;
      return out;
    }
    if (!o.cluster()) {
      endpoints = {Endpoint{connect_host(cfg->settings.daemon_listen), cfg->settings.daemon_port}};
      homes = {o.home};
    }
  } else if (auto tls = enable_tls_files(*cfg, o.cert, o.key, o.ca); !tls) {
    out.setup_error = "cannot use the client TLS credentials: " + tls.error().message;
    return out;
  }
  auto* sys = new caf::actor_system(*cfg);

  auto shared = std::make_shared<Shared>(o, o.concurrency);
  shared->links = std::make_unique<Links>(*sys, endpoints, o.reconnect);
  shared->entry_hosts = entry_hosts;
  report.daemons = shared->links->addresses();
  if (o.cluster()) {
    report.cluster = true;
    report.entry_hosts = entry_hosts;
    report.entry_policy = o.entry_policy == EntryPolicy::worker ? "worker" : "round-robin";
    report.placement = o.hosts;
    report.cross_host_share = o.cross_host_share;
  }
  if (auto error = shared->links->connect_all(); !error.empty()) {
    out.setup_error = error;
    return out;
  }
  if (!o.record_file.empty()) {
    shared->record = std::make_unique<Record>(o.record_file);
    if (!shared->record->ok()) {
      out.setup_error = "cannot write " + o.record_file;
      return out;
    }
  }
  for (std::size_t d = 0; d < shared->links->size(); ++d) {
    auto image = ensure_image(*sys, shared->links->get(d).actor, o, homes[d]);
    if (!image) {
      out.setup_error = "image '" + o.image + "' on " + report.daemons[d] + ": "
                        + message_of(image.error());
      return out;
    }
    if (d == 0) {
      out.image_rootfs = image->rootfs_path;
      out.image_kernel = image->kernel_path;
    }
  }
  if (o.floor_only) {
    shared->links->stop();
    return out;
  }
  shared->prefix = "ld" + random_hex(3);

  // VMs the scenario works on, spread over the daemons.
  auto prepared = std::max<std::uint64_t>(o.vms, o.show_probe.count() > 0 ? 1 : 0);
  if (o.scenario == Scenario::lifecycle || o.scenario == Scenario::create
      || o.scenario == Scenario::list)
    prepared = o.show_probe.count() > 0 ? 1 : 0;
  auto vms = prepare_vms(*sys, *shared->links, shared->prefix, prepared, o);
  if (!vms) {
    out.setup_error = "cannot create the scenario's VMs: " + message_of(vms.error());
    auto [deleted, left] = clean_up(*sys, *shared->links, shared->prefix, o, nullptr);
    report.cleaned_up = deleted;
    report.left_behind = left;
    return out;
  }
  for (auto& vm : *vms)
    shared->vms.push_back(PreparedVm{vm.id, vm.daemon, vm.host});

  std::signal(SIGINT, [](int) { Gate::interrupt(); });
  std::signal(SIGTERM, [](int) { Gate::interrupt(); });
  shared->gate.open();
  auto started = Clock::now();
  for (std::size_t i = 0; i < o.concurrency; ++i) {
    auto delay = std::chrono::milliseconds(o.ramp_up.count() * static_cast<std::int64_t>(i)
                                           / static_cast<std::int64_t>(o.concurrency));
    sys->spawn(client, shared, i, delay);
  }
  if (o.show_probe.count() > 0)
    sys->spawn(probe, shared, o.show_probe);
  else
    shared->probe_done.count_down();
  FaultRunner fault(*shared, started, report);
  shared->done.wait();
  fault.finish();
  shared->probe_stop = true;
  shared->probe_done.wait();

  auto last = started;
  for (auto& t : shared->last_end)
    last = std::max(last, t);
  report.banger.seconds = std::chrono::duration<double>(last - started).count();
  for (auto& s : shared->stats)
    report.banger.stats.merge(s);
  for (auto& [name, op] : shared->probe_stats.ops)
    report.banger.stats.ops[name].merge(op);

  if (!o.keep) {
    auto [deleted, left] = clean_up(*sys, *shared->links, shared->prefix, o, shared->record.get());
    report.cleaned_up = deleted;
    report.left_behind = left;
  }
  report.reconnects = shared->links->reconnects();
  // The reconnecting thread must not outlive the run (the links live on
  // with the actor system, which is never destroyed).
  shared->links->stop();
  return out;
}

} // namespace banger::load
