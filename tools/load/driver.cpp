#include "tools/load/driver.hpp"

#include "messages/config.hpp"
#include "messages/error.hpp"
#include "messages/home_layout.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/op_id.hpp"
#include "messages/tls.hpp"
#include "tools/load/client.hpp"

#include <caf/all.hpp>

#include <csignal>
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

void remove_then(const ClientPtr& c, std::size_t daemon, const std::string& id, UnitDone done) {
  auto request = recorded_removal(c, id);
  call<VmRecord>(c, "vm.delete", daemon, request,
                 [c, id, op_id = request.env.op_id, done](VmRecord* r) {
    if (auto* record = c->shared->record.get(); record && (r || c->last_code == "not_found"))
      record->line(r ? "deleted" : "delete_not_found", id, op_id);
    done(r != nullptr);
  });
}

VmCreateRequest new_vm(const ClientPtr& c) {
  VmCreateRequest create;
  create.env = envelope();
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
  call<VmRecord>(c, "vm.create", daemon, std::move(create), [c, daemon, done, op_id](VmRecord* vm) {
    if (!vm) {
      done(false);
      return;
    }
    record_created(c, *vm, op_id);
    auto id = vm->id;
    auto fail = [c, daemon, id, done] { remove_then(c, daemon, id, [done](bool) { done(false); }); };
    call<VmRecord>(c, "vm.start", daemon, action(id, VmAction::start),
                   [c, daemon, id, done, fail](VmRecord* started) {
      if (!started) {
        fail();
        return;
      }
      call<VmRecord>(c, "vm.stop", daemon, action(id, VmAction::stop),
                     [c, daemon, id, done, fail](VmRecord* stopped) {
        if (!stopped) {
          fail();
          return;
        }
        remove_then(c, daemon, id, done);
      });
    });
  });
}

void read_unit(const ClientPtr& c, UnitDone done) {
  auto& vms = c->shared->vms;
  if (vms.empty() || c->rng() % 10 == 0) {
    VmListRequest list;
    list.env = envelope();
    call<VmList>(c, "vm.list", c->index % c->shared->links->size(), std::move(list),
                 [done](VmList* l) { done(l != nullptr); });
    return;
  }
  auto& vm = vms[c->rng() % vms.size()];
  VmShowRequest show;
  show.env = envelope();
  show.ref = vm.id;
  call<VmRecord>(c, "vm.show", vm.daemon, std::move(show),
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
  call<VmRecord>(c, "vm.start", daemon, action(id, VmAction::start),
                 [c, daemon, id, done](VmRecord* started) {
    // Stop even after a failed start: the VM may be half up.
    call<VmRecord>(c, "vm.stop", daemon, action(id, VmAction::stop),
                   [done, ok = started != nullptr](VmRecord* stopped) {
                     done(ok && stopped != nullptr);
                   });
  });
}

void create_unit(const ClientPtr& c, UnitDone done) {
  auto create = new_vm(c);
  auto op_id = create.env.op_id;
  call<VmRecord>(c, "vm.create", c->index % c->shared->links->size(), std::move(create),
                 [c, done, op_id](VmRecord* vm) {
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
  if (!sh.options.reconnect || sh.gate.closed() || sh.links->all_up()) {
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
  if (!o.home.empty()) {
    if (auto st = cfg->read(o.home, {}); !st) {
      out.setup_error = st.error().message;
      return out;
    }
    if (auto tls = enable_tls(*cfg, HomeLayout{o.home}, TlsRole::client); !tls) {
      out.setup_error = "cannot use the client TLS credentials: " + tls.error().message;
      return out;
    }
    endpoints = {Endpoint{connect_host(cfg->settings.daemon_listen), cfg->settings.daemon_port}};
  } else if (auto tls = enable_tls_files(*cfg, o.cert, o.key, o.ca); !tls) {
    out.setup_error = "cannot use the client TLS credentials: " + tls.error().message;
    return out;
  }
  auto* sys = new caf::actor_system(*cfg);

  auto shared = std::make_shared<Shared>(o, o.concurrency);
  shared->links = std::make_unique<Links>(*sys, endpoints, o.reconnect);
  report.daemons = shared->links->addresses();
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
    auto image = ensure_image(*sys, shared->links->get(d).actor, o);
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
  shared->prefix = "ld" + random_hex(3);

  // VMs the scenario works on, spread over the daemons.
  auto prepared = std::max<std::uint64_t>(o.vms, o.show_probe.count() > 0 ? 1 : 0);
  if (o.scenario == Scenario::lifecycle || o.scenario == Scenario::create)
    prepared = o.show_probe.count() > 0 ? 1 : 0;
  auto vms = prepare_vms(*sys, *shared->links, shared->prefix, prepared, o);
  if (!vms) {
    out.setup_error = "cannot create the scenario's VMs: " + message_of(vms.error());
    auto [deleted, left] = clean_up(*sys, *shared->links, shared->prefix, o, nullptr);
    report.cleaned_up = deleted;
    report.left_behind = left;
    return out;
  }
  for (auto& [id, daemon] : *vms)
    shared->vms.push_back(PreparedVm{id, daemon});

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
  shared->done.wait();
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
