// The client actors' shared state and their one primitive: a timed request
// to a daemon over a link that may go away (tools/load/links.hpp). Only the
// driver includes it.
#pragma once

#include "messages/error.hpp"
#include "messages/cli_protocol.hpp"
#include "messages/op_id.hpp"
#include "tools/load/gate.hpp"
#include "tools/load/links.hpp"
#include "tools/load/record.hpp"
#include "tools/load/report.hpp"
#include "tools/load/setup.hpp"

#include <caf/all.hpp>

#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <random>

namespace banger::load::detail {

using namespace std::chrono_literals;
using go_atom = caf::atom_constant<caf::atom("loadgo")>;

/// How often a client looks again while its daemon is away (--reconnect).
constexpr auto wait_step = 20ms;

/// The load's own code for a request that failed because the connection to
/// its daemon was lost (CAF reports it as request_receiver_down, which the
/// daemon's mapping would call helper_unavailable).
constexpr const char* connection_lost_code = "daemon_unreachable";

/// A VM made before the run for churn, read and the show probe.
struct PreparedVm {
  std::string id;
  std::size_t daemon = 0;
  std::string host; ///< cluster mode: the host it lives on
};

/// Where one request goes: the daemon (entry) it is sent to and, in
/// cluster mode, the host of the VM it is about (empty: not known, or not
/// about one VM), which makes it "local" or "cross" in the report.
struct Target {
  std::size_t daemon = 0;
  std::string vm_host;
};

/// Everything the client actors share. Read-only once they run, except the
/// gate, the links, the record and each client's own slot in `stats` /
/// `last_end`.
struct Shared {
  Shared(const Options& o, std::size_t clients) : options(o), gate(o), done(static_cast<std::ptrdiff_t>(clients)), stats(clients), last_end(clients) {}
  const Options& options;
  std::unique_ptr<Links> links;
  std::unique_ptr<Record> record;
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
  // Cluster mode: the host id of each entry (as links), and the fault.
  std::vector<std::string> entry_hosts;
  std::atomic<bool> fault_fired{false};
  Clock::time_point fault_time{}; ///< written once, before fault_fired
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
  // Per daemon: the link generation this client monitors, and its address.
  std::vector<std::uint64_t> watched;
  std::vector<caf::actor_addr> watched_addr;
  // The request in flight (at most one per client): failed at once by the
  // down handler, since CAF never answers it when the connection drops.
  std::function<void()> pending_fail;
  std::size_t pending_daemon = 0;
  std::uint64_t pending_generation = 0;
  std::string last_code; ///< error code of the last failed request
  std::optional<Clock::time_point> waiting_since;
  std::uint64_t next_entry = 0; ///< --entry-policy round-robin
};
using ClientPtr = std::shared_ptr<Client>;
using UnitDone = std::function<void(bool)>;

inline ClientPtr make_client(caf::event_based_actor* self, std::shared_ptr<Shared> shared) {
  auto c = std::make_shared<Client>();
  c->self = self;
  c->watched.assign(shared->links->size(), 0);
  c->watched_addr.resize(shared->links->size());
  c->shared = std::move(shared);
  self->set_down_handler([c](caf::down_msg& dm) {
    for (std::size_t d = 0; d < c->watched_addr.size(); ++d) {
      if (dm.source != c->watched_addr[d])
        continue;
      c->shared->links->lost(d, c->watched[d]);
      // Nothing to go on with; in a cluster the other entries serve on.
      if (!c->shared->options.reconnect && !c->shared->options.cluster())
        Gate::interrupt();
      if (c->pending_fail && c->pending_daemon == d && c->pending_generation == c->watched[d]) {
        auto fail = std::move(c->pending_fail);
        c->pending_fail = nullptr;
        fail();
      }
    }
  });
  return c;
}

inline void watch(const ClientPtr& c, std::size_t daemon, const LinkState& link) {
  if (c->watched[daemon] == link.generation)
    return;
  c->watched[daemon] = link.generation;
  c->watched_addr[daemon] = caf::actor_cast<caf::actor_addr>(link.actor);
  c->self->monitor(link.actor);
}

/// Cluster mode: one finished request by entry host, by route (when the
/// VM's host is known) and by side of the fault; `code` null on success.
inline void note(const ClientPtr& c, const char* op, const Target& target, std::uint64_t us,
                 const std::string* code) {
  auto& sh = *c->shared;
  if (!sh.options.cluster())
    return;
  const auto& entry_host = sh.entry_hosts[target.daemon];
  auto& entry = c->stats->by_entry[entry_host];
  entry.latency.record(us);
  if (code)
    ++entry.errors;
  if (!target.vm_host.empty())
    c->stats->by_route[target.vm_host == entry_host ? Route::local : Route::cross][op].record(us);
  if (!sh.options.fault)
    return;
  bool after = sh.fault_fired.load(std::memory_order_acquire);
  auto& phase = c->stats->phases[after ? 1 : 0];
  ++phase.ops;
  if (!code)
    return;
  ++phase.errors;
  ++phase.errors_by_code[*code];
  if (after) {
    auto since = micros_since(sh.fault_time);
    if (!phase.first_error_us || since < *phase.first_error_us)
      phase.first_error_us = since;
    if (!phase.last_error_us || since > *phase.last_error_us)
      phase.last_error_us = since;
  }
}

/// One request from a client, timed and counted under `op`; `then` gets the
/// reply or nullptr (c->last_code then says why).
template <class Reply, class Request, class Then>
void call(const ClientPtr& c, const char* op, Target target, Request request, Then then) {
  auto daemon = target.daemon;
  auto& sh = *c->shared;
  if (sh.record && request.env.op_id.empty())
    request.env.op_id = mint_op_id();
  auto link = sh.links->get(daemon);
  auto t0 = Clock::now();
  auto settled = std::make_shared<bool>(false);
  auto fail = [c, op, t0, then, settled, target](const std::string& code,
                                                 const std::string& op_id) mutable {
    if (*settled)
      return;
    *settled = true;
    c->pending_fail = nullptr;
    c->last_code = code;
    auto us = micros_since(t0);
    c->stats->op(op).failed(us, code, op_id);
    note(c, op, target, us, &code);
    then(static_cast<Reply*>(nullptr));
  };
  if (!link.up) {
    fail(connection_lost_code, request.env.op_id);
    return;
  }
  watch(c, daemon, link);
  c->pending_daemon = daemon;
  c->pending_generation = link.generation;
  c->pending_fail = [fail, op_id = request.env.op_id]() mutable { fail(connection_lost_code, op_id); };
  auto op_id = request.env.op_id;
  c->self->request(link.actor, sh.options.request_timeout, std::move(request))
    .then(
      [c, op, t0, then, settled, target](Reply& reply) mutable {
        if (*settled)
          return;
        *settled = true;
        c->pending_fail = nullptr;
        auto us = micros_since(t0);
        c->stats->op(op).ok(us);
        note(c, op, target, us, nullptr);
        then(&reply);
      },
      [c, daemon, generation = link.generation, fail, op_id](caf::error& err) mutable {
        auto v = view(err);
        if (v.peer_lost) {
          c->shared->links->lost(daemon, generation);
          fail(connection_lost_code, op_id);
          return;
        }
        fail(std::string(to_string(v.code)), v.op_id.empty() ? op_id : v.op_id);
      });
}

template <class Reply, class Request, class Then>
void call(const ClientPtr& c, const char* op, std::size_t daemon, Request request, Then then) {
  call<Reply>(c, op, Target{daemon, {}}, std::move(request), std::move(then));
}


} // namespace banger::load::detail
