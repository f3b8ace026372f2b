// The fixture of the VM actor tests (vm_actor_test.cpp, vm_reconcile_test.cpp):
// the VM actor in process, on CAF's deterministic test coordinator: the
// store, helper, vmm_io, operations and events actors are fakes built from
// their typed interfaces, the VMM is a real child process (so "is it alive"
// is answered the way the daemon answers it), and nothing needs root. Every
// message runs on the test's thread when the test says so.
#pragma once

#include "messages/sheltered.hpp"
#include "actors/proc.hpp"
#include "actors/vm_actor.hpp"
#include "messages/error.hpp"

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <vector>

extern char** environ;

namespace banger::vm_test {

using release_atom = caf::atom_constant<caf::atom("release")>;
using held_store_actor = store_actor::extend<caf::reacts_to<release_atom>>;

/// What the fakes saw and hold, shared with the test. Only the test thread
/// touches it: the test coordinator runs every actor there.
struct World {
  std::vector<std::string> helper_calls;
  std::vector<VmRecord> saved;
  /// Every write request the store got, in order: "save <state>", "erase",
  /// "outcome <op kind> <outcome>" plus " + save <state>" or " + erase".
  std::vector<std::string> writes;
  /// Final statuses the operations actor was told are durable already.
  std::vector<std::string> recorded;
  std::vector<std::string> retired;
  std::vector<std::string> ops_begun; ///< operation kinds, in start order
  std::set<std::string> op_ids;
  /// A SaveVm matching this is held back until release_atom.
  std::function<bool(const VmRecord&)> hold_save;
  std::optional<caf::typed_response_promise<Ack>> held;
  caf::actor exit_notify; ///< from the last ExitWatch
  std::uint64_t duplex_opens = 0; ///< agent streams asked for
  bool fail_launch = false; ///< the helper refuses every VmmLaunchRequest
  bool fail_outcome = false; ///< the store fails every SaveOutcome
  bool fail_publish = false; ///< the helper refuses every PortsPublishRequest
  std::vector<pid_t> vmms;

  ~World() {
    for (auto pid : vmms)
      if (::kill(pid, SIGKILL) == 0)
        ::waitpid(pid, nullptr, 0);
  }

  /// A real process standing in for the VMM.
  pid_t spawn_vmm() {
    const char* argv[] = {"sleep", "600", nullptr};
    pid_t pid = 0;
    REQUIRE(::posix_spawnp(&pid, "sleep", nullptr, nullptr, const_cast<char**>(argv), environ)
            == 0);
    vmms.push_back(pid);
    return pid;
  }

  /// The VMM ends: killed and reaped, so it is gone for anyone who checks.
  void end_vmm(pid_t pid, int sig = SIGKILL) {
    if (::kill(pid, sig) == 0)
      ::waitpid(pid, nullptr, 0);
  }
};

inline held_store_actor::behavior_type fake_store(held_store_actor::pointer self, World* w) {
  return {
    [self, w](SaveVm& save) -> caf::result<Ack> {
      w->writes.push_back("save " + std::string(to_string(save.vm.runtime.state)));
      w->saved.push_back(save.vm);
      if (w->hold_save && !w->held && w->hold_save(save.vm)) {
        w->held = self->make_response_promise<Ack>();
        return *w->held;
      }
      return Ack{};
    },
    [w](EraseVm&) {
      w->writes.push_back("erase");
      return Ack{};
    },
    [](SaveImage&) { return Ack{}; },
    [](EraseImage&) { return Ack{}; },
    [w](SaveOperation& save) {
      w->writes.push_back("operation " + save.operation.kind);
      return Ack{};
    },
    [self, w](SaveOutcome& out) -> caf::result<Ack> {
      auto label = "outcome " + out.operation.kind + " "
                   + (out.operation.outcome == OperationOutcome::succeeded ? "succeeded" : "failed");
      if (out.save_vm)
        label += " + save " + std::string(to_string(out.vm.runtime.state));
      if (out.erase_vm)
        label += " + erase";
      w->writes.push_back(label);
      if (w->fail_outcome)
        return make_error(Errc::storage, "disk full", out.operation.op_id);
      if (!out.save_vm)
        return Ack{};
      w->saved.push_back(out.vm);
      if (w->hold_save && !w->held && w->hold_save(out.vm)) {
        w->held = self->make_response_promise<Ack>();
        return *w->held;
      }
      return Ack{};
    },
    [](SaveNames&) { return Ack{}; },
    [](LoadOperation&) { return OperationStatus{}; },
    [w](release_atom) {
      if (w->held) {
        w->held->deliver(Ack{});
        w->held.reset();
      }
    },
  };
}

inline helper_actor::behavior_type fake_helper(helper_actor::pointer, World* w) {
  return {
    [](HelperInfoRequest&) { return HelperInfo{}; },
    [](TapDeleteRequest&) { return Ack{}; },
    [w](RootfsPrepareRequest& r) {
      w->helper_calls.push_back("prepare_rootfs");
      return RootfsPrepared{"/nonexistent/" + r.vm_id + "/rootfs.img", "copy"};
    },
    [w](RootfsReleaseRequest&) {
      w->helper_calls.push_back("release_rootfs");
      return Ack{};
    },
    [w](VmmLaunchRequest& r) -> caf::result<VmmLaunched> {
      w->helper_calls.push_back("launch");
      if (w->fail_launch)
        return make_error(Errc::internal, "the VMM binary could not be run", r.env.op_id);
      VmmLaunched out;
      out.pid = w->spawn_vmm();
      out.start_time = process_start_time(out.pid).value_or(0);
      out.api_socket = "/nonexistent/" + r.vm_id + "/api.sock";
      out.kernel_path = r.kernel_path;
      out.rootfs_path = "/nonexistent/" + r.vm_id + "/rootfs.img";
      return out;
    },
    [w](VmmSignalRequest& r) {
      w->helper_calls.push_back("signal " + r.signal);
      w->end_vmm(r.pid, r.signal == "KILL" ? SIGKILL : SIGTERM);
      return Ack{};
    },
    [w](RuntimeRemoveRequest&) {
      w->helper_calls.push_back("remove_runtime");
      return Ack{};
    },
    [](HelperInventoryRequest&) { return HelperInventory{}; },
    [](PeerRouteRequest&) { return Ack{}; },
    [w](PortsPublishRequest& r) -> caf::result<Ack> {
      w->helper_calls.push_back("ports.publish " + std::to_string(r.ports.size()));
      if (w->fail_publish)
        return make_error(Errc::conflict, "host port 18080/tcp is already published by VM "
                                          "fedcba9876543210", r.env.op_id);
      return Ack{};
    },
    [w](PortsUnpublishRequest&) {
      w->helper_calls.push_back("ports.unpublish");
      return Ack{};
    },
  };
}

inline vmm_io_actor::behavior_type fake_io(vmm_io_actor::pointer, World* w) {
  return {
    [w](HttpCall& call) {
      // SendCtrlAltDel: the guest powers off and the VMM ends at once.
      if (call.body.find("SendCtrlAltDel") != std::string::npos && w->exit_notify) {
        auto pid = w->vmms.back();
        w->end_vmm(pid);
        caf::anon_send(w->exit_notify, VmmExited{pid});
      }
      return HttpReply{204, ""};
    },
    [](HttpSequence& seq) {
      HttpReplies out;
      out.replies.assign(seq.calls.size(), HttpReply{204, ""});
      return out;
    },
    [](QmpCall&) { return QmpReply{}; },
    [](GuestProbe&) { return Ack{}; },
    [](SocketWait&) { return Ack{}; },
    [w](ExitWatch& watch) {
      w->exit_notify = watch.notify;
      return std::uint64_t{1};
    },
    [](ExitUnwatch&) {},
    // No guest agent in this world: every stream closes as it opens, as
    // a guest without one would have it.
    [w](DuplexOpen& open) {
      auto token = ++w->duplex_opens;
      caf::anon_send(open.notify, DuplexClosed{open.link, static_cast<std::uint8_t>(Errc::agent_unavailable),
                                               "no guest agent in this test"});
      return token;
    },
    [](DuplexWrite&) { return Ack{}; },
    [](DuplexClose&) {},
  };
}

inline operations_actor::behavior_type fake_operations(operations_actor::pointer, World* w) {
  return {
    [w](OpProgress& p) {
      if (w->op_ids.insert(p.status.op_id).second)
        w->ops_begun.push_back(p.status.kind);
      if (p.recorded)
        w->recorded.push_back(p.status.op_id);
    },
    [](OpStatusRequest&) { return OperationStatus{}; },
  };
}

inline vm_events_actor::behavior_type fake_events(vm_events_actor::pointer, World* w) {
  return {
    [](VmChanged&) {},
    [w](VmRetired& r) { w->retired.push_back(r.id); },
  };
}

/// One VM actor with its fakes on a test coordinator.
struct Fixture {
  World world; ///< first: outlives every actor that points to it
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::string home;
  held_store_actor store;
  vm_actor vm;
  /// Replies to the requests the test sent, in the order they arrived.
  std::vector<std::pair<std::string, caf::expected<VmRecord>>> replies;

  explicit Fixture(std::uint32_t bound = 64, std::vector<PortMapping> ports = {}) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    sys.emplace(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    char tmpl[] = "/tmp/banger-vm-actor-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    home = tmpl;
    store = sys->spawn(fake_store, &world);
    auto deps = std::make_shared<VmDeps>();
    deps->store = caf::actor_cast<store_actor>(store);
    deps->helper = sys->spawn(fake_helper, &world);
    deps->io = sys->spawn(fake_io, &world);
    deps->operations = sys->spawn(fake_operations, &world);
    deps->events = sys->spawn(fake_events, &world);
    deps->settings.daemon_vm_queue = bound;
    deps->home = home;
    deps->subnet = parse_ipv4_subnet("172.30.0.0/24").value();
    VmRecord rec;
    rec.id = "0123456789abcdef";
    rec.name = "web";
    rec.runtime.state = VmState::stopped;
    rec.runtime.guest_ip = "172.30.0.2";
    rec.runtime.rootfs_path = "/nonexistent/rootfs.img";
    rec.ports = std::move(ports);
    Image image;
    image.kernel_path = "/nonexistent/vmlinux";
    vm = spawn_vm_actor(*sys, rec, image, deps);
    run();
  }

  ~Fixture() {
    stop_actor(*sys, vm);
    stop_actor(*sys, store);
    run();
    std::error_code ec;
    std::filesystem::remove_all(home, ec);
  }

  void run() { sched->run(); }

  /// Sends `request` to the VM from a client whose reply is recorded.
  template <class Request>
  void send(std::string label, Request request) {
    sys->spawn([this, label, request](caf::event_based_actor* self) {
      self->request(vm, caf::infinite, request)
        .then([this, label](VmRecord& rec) { replies.emplace_back(label, std::move(rec)); },
              [this, label](caf::error& err) { replies.emplace_back(label, std::move(err)); });
    });
  }

  VmActionRequest action(VmAction what, std::string op_id) {
    VmActionRequest r;
    r.env.op_id = std::move(op_id);
    r.action = what;
    return r;
  }

  VmRecord show() {
    replies.clear();
    send("show", VmShowRequest{});
    run();
    REQUIRE(replies.size() == 1);
    REQUIRE(replies[0].second);
    return *replies[0].second;
  }
};

} // namespace banger::vm_test
