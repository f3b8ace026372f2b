// In-process stand-ins for the actors the directory, node, image catalog
// and control talk to, and a blocking `ask` against real actors: the tests
// need no root, no helper process and no SQLite file. A fake built as a
// dynamically typed actor answers only what it handles; anything else gets
// CAF's unexpected-message error, as a helper refusing it would.
// Ordering is deterministic without CAF's test_coordinator_fixture (which
// under doctest needs CAF's own unit-test engine symbols): each step of a
// test waits for its reply before the next is sent, and one sender's
// messages reach an actor in the order sent.
#pragma once

#include "actors/internal_protocol.hpp"
#include "messages/error.hpp"
#include "messages/register.hpp"
#include "tests/support/process.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace banger::test {

struct ActorSystem {
  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    register_messages(cfg);
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
};

/// The reply to `msg`, or the error it was refused with.
template <class Reply, class Handle, class Message>
caf::expected<Reply> ask(caf::scoped_actor& self, const Handle& target, Message msg) {
  caf::expected<Reply> out{caf::error{}};
  self->request(target, std::chrono::seconds(10), std::move(msg))
    .receive([&](Reply& reply) { out = std::move(reply); }, [&](caf::error& err) { out = std::move(err); });
  return out;
}

template <class T>
Errc code_of(const caf::expected<T>& r) {
  return r ? Errc::none : view(r.error()).code;
}

/// What the fake store was asked to do; `fail_saves` makes SaveVm fail.
struct StoreLog {
  std::atomic<int> vm_saves{0};
  std::atomic<bool> fail_saves{false};
};

inline store_actor spawn_fake_store(caf::actor_system& sys, std::shared_ptr<StoreLog> log) {
  return sys.spawn([log]() -> store_actor::behavior_type {
    return {
      [log](SaveVm&) -> caf::result<Ack> {
        ++log->vm_saves;
        if (log->fail_saves)
          return make_error(Errc::storage, "disk full", {});
        return Ack{};
      },
      [](EraseVm&) { return Ack{}; },
      [](SaveImage&) { return Ack{}; },
      [](EraseImage&) { return Ack{}; },
      [](SaveOperation&) { return Ack{}; },
      [log](SaveOutcome& out) -> caf::result<Ack> {
        if (out.save_vm)
          ++log->vm_saves;
        if (out.save_vm && log->fail_saves)
          return make_error(Errc::storage, "disk full", {});
        return Ack{};
      },
      [](SaveNames&) { return Ack{}; },
      [](LoadOperation&) -> caf::result<OperationStatus> {
        return make_error(Errc::not_found, "no such operation", {});
      },
    };
  });
}

/// Inventory requests the fake helper answered.
struct HelperLog {
  std::atomic<int> inventories{0};
};

inline helper_actor spawn_fake_helper(caf::actor_system& sys, std::shared_ptr<HelperLog> log,
                                      HelperInventory inventory = {}) {
  auto fake = sys.spawn([log, inventory](caf::event_based_actor* self) -> caf::behavior {
    self->set_default_handler([](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return make_error(Errc::helper_refused, "not handled by the fake helper", {});
    });
    return {
      [log, inventory](HelperInventoryRequest&) {
        ++log->inventories;
        return inventory;
      },
      [](HelperInfoRequest&) {
        HelperInfo info;
        info.rootfs_strategies = {"copy"};
        info.accel = "kvm";
        return info;
      },
    };
  });
  return caf::actor_cast<helper_actor>(fake);
}

/// A VM actor that answers show with `record` and ignores the rest.
inline vm_actor spawn_fake_vm(caf::actor_system& sys, VmRecord record) {
  auto fake = sys.spawn([record](caf::event_based_actor*) -> caf::behavior {
    return {
      [record](VmShowRequest&) { return record; },
      [record](VmActionRequest& req) {
        auto r = record;
        r.runtime.stage = req.action == VmAction::stop ? "stopped by request" : "acted on";
        return r;
      },
    };
  });
  return caf::actor_cast<vm_actor>(fake);
}

} // namespace banger::test
