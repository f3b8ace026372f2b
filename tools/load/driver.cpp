#include "tools/load/driver.hpp"

#include "messages/config.hpp"
#include "messages/error.hpp"
#include "messages/home_layout.hpp"
#include "messages/interfaces.hpp"
#include "messages/op_id.hpp"
#include "messages/tls.hpp"
#include "tools/load/gate.hpp"

#include <caf/all.hpp>
#include <caf/openssl/all.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <latch>
#include <random>

namespace banger::load {

namespace {

using go_atom = caf::atom_constant<caf::atom("loadgo")>;

/// Requests in flight at once during set-up and clean-up.
constexpr std::size_t batch = 64;

/// A VM made before the run for churn, read and the show probe.
struct PreparedVm {
  std::string id;
  std::size_t daemon = 0;
};

/// Everything the client actors share. Read-only once they run, except the
/// gate and each client's own slot in `stats` / `last_end`.
struct Shared {
  Shared(const Options& o, std::size_t clients) : options(o), gate(o), done(static_cast<std::ptrdiff_t>(clients)), stats(clients), last_end(clients) {}
  const Options& options;
  std::vector<control_actor> daemons;
  std::vector<PreparedVm> vms;
  std::string prefix;
  Gate gate;
  std::latch done;
  std::vector<Stats> stats;
  std::vector<Clock::time_point> last_end;
  // The show probe.
  std::atomic<bool> probe_stop{false};
  std::latch probe_done{1};
  Stats probe_stats;
};

struct Client {
  caf::event_based_actor* self = nullptr;
  std::shared_ptr<Shared> shared;
  std::size_t index = 0;
  Stats* stats = nullptr;
  std::mt19937_64 rng;
  std::uint64_t seq = 0;
  std::vector<std::size_t> owned; ///< indices into shared->vms (churn)
  std::size_t next_owned = 0;
};
using ClientPtr = std::shared_ptr<Client>;
using UnitDone = std::function<void(bool)>;

Envelope envelope() {
  return Envelope{};
}

VmActionRequest action(const std::string& ref, VmAction what) {
  VmActionRequest request;
  request.env = envelope();
  request.ref = ref;
  request.action = what;
  return request;
}

/// One request from a client, timed and counted under `op`; `then` gets the
/// reply or nullptr.
template <class Reply, class Request, class Then>
void call(const ClientPtr& c, const char* op, std::size_t daemon, Request request, Then then) {
  auto t0 = Clock::now();
  c->self->request(c->shared->daemons[daemon], c->shared->options.request_timeout, std::move(request))
    .then(
      [c, op, t0, then](Reply& reply) mutable {
        c->stats->op(op).ok(micros_since(t0));
        then(&reply);
      },
      [c, op, t0, then](caf::error& err) mutable {
        auto v = view(err);
        c->stats->op(op).failed(micros_since(t0), std::string(to_string(v.code)), v.op_id);
        then(static_cast<Reply*>(nullptr));
      });
}

void remove_then(const ClientPtr& c, std::size_t daemon, const std::string& id, UnitDone done) {
  call<VmRecord>(c, "vm.delete", daemon, action(id, VmAction::remove),
                 [done](VmRecord* r) { done(r != nullptr); });
}

void lifecycle_unit(const ClientPtr& c, UnitDone done) {
  auto daemon = c->index % c->shared->daemons.size();
  VmCreateRequest create;
  create.env = envelope();
  create.spec.name = c->shared->prefix + "-" + std::to_string(c->index) + "-"
                     + std::to_string(c->seq++);
  create.spec.image = c->shared->options.image;
  call<VmRecord>(c, "vm.create", daemon, std::move(create), [c, daemon, done](VmRecord* vm) {
    if (!vm) {
      done(false);
      return;
    }
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
    call<VmList>(c, "vm.list", c->index % c->shared->daemons.size(), std::move(list),
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
  VmCreateRequest create;
  create.env = envelope();
  create.spec.name = c->shared->prefix + "-" + std::to_string(c->index) + "-"
                     + std::to_string(c->seq++);
  create.spec.image = c->shared->options.image;
  call<VmRecord>(c, "vm.create", c->index % c->shared->daemons.size(), std::move(create),
                 [done](VmRecord* vm) { done(vm != nullptr); });
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

void next_unit(const ClientPtr& c) {
  auto& sh = *c->shared;
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
  auto c = std::make_shared<Client>();
  c->self = self;
  c->shared = shared;
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
  auto c = std::make_shared<Client>();
  c->self = self;
  c->shared = shared;
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

/// Blocking requests in batches, for set-up and clean-up.
template <class Reply, class Request>
std::vector<caf::expected<Reply>> call_all(caf::actor_system& sys, const control_actor& target,
                                           const std::vector<Request>& requests,
                                           std::chrono::milliseconds timeout) {
  std::vector<caf::expected<Reply>> results;
  caf::scoped_actor self{sys};
  for (std::size_t begin = 0; begin < requests.size(); begin += batch) {
    auto end = std::min(requests.size(), begin + batch);
    using handle_type = decltype(self->request(target, timeout, requests.front()));
    std::vector<handle_type> handles;
    for (auto i = begin; i < end; ++i)
      handles.push_back(self->request(target, timeout, requests[i]));
    for (auto& h : handles) {
      caf::expected<Reply> result{caf::error{}};
      h.receive([&](Reply& reply) { result = std::move(reply); },
                [&](caf::error& err) { result = std::move(err); });
      results.push_back(std::move(result));
    }
  }
  return results;
}


std::string message_of(const caf::error& err) {
  auto v = view(err);
  return std::string(to_string(v.code)) + ": " + v.message;
}

/// The image on `daemon`, registered from tiny files under <home>/images
/// when it is missing and we know the home.
caf::expected<Image> ensure_image(caf::actor_system& sys, const control_actor& daemon,
                                  const Options& o) {
  ImageShowRequest show{envelope(), o.image};
  auto found = call_all<Image>(sys, daemon, std::vector{show}, o.request_timeout).front();
  if (found || o.home.empty() || view(found.error()).code != Errc::not_found)
    return found;
  auto dir = HomeLayout{o.home}.images_dir() / o.image;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  {
    std::ofstream kernel(dir / "vmlinux");
    kernel << "not really a kernel";
    std::ofstream rootfs(dir / "rootfs.ext4");
    rootfs << std::string(64 * 1024, 'r');
  }
  ImageAddRequest add;
  add.env = envelope();
  add.name = o.image;
  add.kernel_path = (dir / "vmlinux").string();
  add.rootfs_path = (dir / "rootfs.ext4").string();
  return call_all<Image>(sys, daemon, std::vector{add}, o.request_timeout).front();
}

/// Deletes every VM of this run on every daemon; returns {deleted, left}.
std::pair<std::uint64_t, std::uint64_t> clean_up(caf::actor_system& sys, const Shared& shared) {
  std::uint64_t deleted = 0;
  std::uint64_t left = 0;
  for (const auto& daemon : shared.daemons) {
    VmListRequest list{envelope()};
    auto listed = call_all<VmList>(sys, daemon, std::vector{list}, shared.options.request_timeout).front();
    if (!listed)
      continue;
    std::vector<VmActionRequest> removals;
    for (const auto& vm : listed->vms)
      if (vm.name.rfind(shared.prefix + "-", 0) == 0)
        removals.push_back(action(vm.id, VmAction::remove));
    for (auto& result : call_all<VmRecord>(sys, daemon, removals, shared.options.request_timeout)) {
      if (result || view(result.error()).code == Errc::not_found)
        ++deleted;
      else
        ++left;
    }
  }
  return {deleted, left};
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
  for (const auto& e : endpoints) {
    auto address = (e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host) + ":"
                   + std::to_string(e.port);
    report.daemons.push_back(address);
    auto control = caf::openssl::remote_actor<control_actor>(*sys, e.host, e.port);
    if (!control) {
      out.setup_error = "cannot reach bangerd at " + address + ": " + sys->render(control.error());
      return out;
    }
    shared->daemons.push_back(*control);
  }
  for (std::size_t d = 0; d < shared->daemons.size(); ++d) {
    auto image = ensure_image(*sys, shared->daemons[d], o);
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
  for (std::size_t d = 0; d < shared->daemons.size(); ++d) {
    std::vector<VmCreateRequest> creates;
    std::vector<std::size_t> order;
    for (std::size_t i = d; i < prepared; i += shared->daemons.size()) {
      VmCreateRequest create;
      create.env = envelope();
      create.spec.name = shared->prefix + "-v" + std::to_string(i);
      create.spec.image = o.image;
      creates.push_back(std::move(create));
    }
    for (auto& result : call_all<VmRecord>(*sys, shared->daemons[d], creates, o.request_timeout)) {
      if (!result) {
        out.setup_error = "cannot create the scenario's VMs: " + message_of(result.error());
        auto [deleted, left] = clean_up(*sys, *shared);
        report.cleaned_up = deleted;
        report.left_behind = left;
        return out;
      }
      shared->vms.push_back(PreparedVm{result->id, d});
    }
  }

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
    auto [deleted, left] = clean_up(*sys, *shared);
    report.cleaned_up = deleted;
    report.left_behind = left;
  }
  return out;
}

} // namespace banger::load
