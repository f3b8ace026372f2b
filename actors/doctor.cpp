#include "actors/doctor.hpp"
#include "messages/sheltered.hpp"

#include "actors/proc.hpp"
#include "actors/route.hpp"
#include "actors/state_files.hpp"
#include "messages/error.hpp"
#include "messages/home_layout.hpp"
#include "messages/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

namespace banger {

namespace {

const log::Logger log_{"doctor"};

constexpr auto ask_timeout = std::chrono::seconds(30);

struct Fix {
  std::size_t finding;
  std::function<void(std::function<void(bool)>)> apply;
};

struct DoctorState {
  DoctorState() = default; // not an aggregate: CAF must not build it from `self`
  directory_actor directory;
  helper_actor helper;
  std::string home;
  static inline const char* name = "doctor";
};

using Self = sheltered_pointer<doctor_actor, DoctorState>;

/// The fixes of one `doctor --fix`, applied one after another. Every step's
/// continuation holds the run, so it lives exactly as long as a fix is
/// outstanding; nothing in it refers to itself.
struct FixRun {
  Self self;
  std::shared_ptr<DoctorReport> report;
  std::vector<Fix> fixes;
  caf::typed_response_promise<DoctorReport> promise;
};

/// Applies fixes from index `i` on; after the last, replies and exits.
void apply_fixes(std::shared_ptr<FixRun> run, std::size_t i) {
  if (i == run->fixes.size()) {
    run->promise.deliver(*run->report);
    run->self->quit();
    return;
  }
  auto index = run->fixes[i].finding;
  auto& apply = run->fixes[i].apply;
  apply([run, index, i](bool fixed) {
    run->report->findings[index].fixed = fixed;
    apply_fixes(run, i + 1);
  });
}

bool is_live(const VmRecord& vm) {
  auto s = vm.runtime.state;
  return (s == VmState::running || s == VmState::paused || s == VmState::starting
          || s == VmState::stopping)
         && vm.runtime.pid > 0;
}

void examine(Self self, const DoctorRequest& req, const VmList& list, const HelperInventory& inv,
             caf::typed_response_promise<DoctorReport> promise) {
  auto& st = self->state;
  std::map<std::string, const VmRecord*> by_id;
  std::map<std::string, const VmRecord*> by_tap;
  for (auto& vm : list.vms) {
    by_id[vm.id] = &vm;
    by_tap[tap_name(vm.id)] = &vm;
  }
  auto report = std::make_shared<DoctorReport>();
  auto fixes = std::make_shared<std::vector<Fix>>();
  auto env = req.env;
  auto add = [&](std::string kind, std::string object, std::string detail,
                 std::function<void(std::function<void(bool)>)> apply) {
    report->findings.push_back(DoctorFinding{std::move(kind), std::move(object), std::move(detail), false});
    if (apply)
      fixes->push_back(Fix{report->findings.size() - 1, std::move(apply)});
  };
  auto ack_fix = [](std::function<void(bool)> done) {
    return [done](Result<Ack> r) { done(r.ok() || r.error().code == Errc::not_found); };
  };
  auto ask = [self](auto request, std::function<void(Result<Ack>)> then) {
    self->request(self->state.helper, ask_timeout, std::move(request))
      .then([then](Ack) { then(Ack{}); },
            [then](caf::error& err) {
              auto v = view(err);
              then(Error{v.code, v.message});
            });
  };
  // Fixes run in finding order, so VMMs come first: their taps and runtime
  // directories are only removable once they are gone.
  for (auto& vmm : inv.vmms) {
    auto owner = by_id.find(vmm.vm_id);
    if (owner != by_id.end() && is_live(*owner->second) && owner->second->runtime.pid == vmm.pid)
      continue;
    add("process", std::to_string(vmm.pid),
        "VMM of " + vmm.vm_id + (owner == by_id.end() ? " (no VM record)" : " (record disagrees)"),
        [=](std::function<void(bool)> done) {
          ask(VmmSignalRequest{env, vmm.vm_id, vmm.pid, vmm.start_time, "KILL"}, ack_fix(done));
        });
  }
  for (auto& tap : inv.taps) {
    auto owner = by_tap.find(tap);
    if (owner != by_tap.end() && is_live(*owner->second))
      continue;
    std::string vm_id = owner != by_tap.end() ? owner->second->id : "";
    add("tap", tap, owner == by_tap.end() ? "no VM record owns it" : "its VM is not running",
        [=](std::function<void(bool)> done) { ask(TapDeleteRequest{env, vm_id, tap}, ack_fix(done)); });
  }
  for (auto& dir : inv.run_dirs) {
    auto owner = by_id.find(dir);
    if (owner != by_id.end() && is_live(*owner->second))
      continue;
    add("socket", HomeLayout{st.home}.vm_run_dir(dir).string(), "runtime files of a VM that is not running",
        [=](std::function<void(bool)> done) { ask(RuntimeRemoveRequest{env, dir}, ack_fix(done)); });
  }
  // Rules of a VM that is not running send its host ports to a guest
  // address that is free, or another VM's once reused.
  for (auto& vm_id : inv.port_vms) {
    auto owner = by_id.find(vm_id);
    if (owner != by_id.end() && is_live(*owner->second))
      continue;
    add("ports", vm_id,
        owner == by_id.end() ? "published-port rules with no VM record"
                             : "published-port rules of a VM that is not running",
        [=](std::function<void(bool)> done) {
          ask(PortsUnpublishRequest{env, vm_id}, ack_fix(done));
        });
  }
  std::error_code ec;
  auto vms_dir = HomeLayout{st.home}.state_dir() / "vms";
  for (auto& entry : std::filesystem::directory_iterator(vms_dir, ec)) {
    auto id = entry.path().filename().string();
    if (by_id.count(id))
      continue;
    add("rootfs", entry.path().string(), "VM directory with no VM record",
        [=](std::function<void(bool)> done) { ask(RootfsReleaseRequest{env, id}, ack_fix(done)); });
  }
  // Snapshot folders no record names (a snapshot committed just before a
  // crash, or a partial one), and a suspend's files the record does not
  // name: daemon-owned files, removed here directly.
  for (auto& vm : list.vms) {
    if (!vm.runtime.stage.empty())
      continue; // an operation is at work on these files right now
    auto vm_dir = HomeLayout{st.home}.vm_dir(vm.id);
    for (const auto& folder : snapshot_folders(vm_dir)) {
      bool named = std::any_of(vm.snapshots.begin(), vm.snapshots.end(),
                               [&](const SnapshotInfo& s) { return s.name == folder; });
      if (named)
        continue;
      auto path = (vm_dir / "snapshots" / folder);
      add("snapshot", path.string(), "snapshot folder of VM " + vm.name + " with no record",
          [path](std::function<void(bool)> done) {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
            done(!ec);
          });
    }
    auto suspend = suspend_files(vm_dir, true);
    for (const auto* file : {&suspend.state_path, &suspend.memory_path}) {
      for (const auto& path : {*file, *file + ".partial"}) {
        if (path == vm.runtime.saved.state_path || path == vm.runtime.saved.memory_path
            || !std::filesystem::exists(path, ec))
          continue;
        add("saved state", path, "saved state of VM " + vm.name + " that its record does not name",
            [path](std::function<void(bool)> done) {
              std::error_code ec;
              std::filesystem::remove(path, ec);
              done(!ec);
            });
      }
    }
  }
  for (auto& vm : list.vms) {
    if (!is_live(vm) || same_process_alive(vm.runtime.pid, vm.runtime.pid_start_time))
      continue;
    auto directory = st.directory;
    add("record", vm.name, "recorded " + std::string(to_string(vm.runtime.state)) + " but its VMM is gone",
        [=](std::function<void(bool)> done) {
          VmActionRequest stop{env, vm.id, VmAction::stop, {}, false};
          ask_vm<VmRecord>(
            self, directory, std::move(stop), [done](VmRecord&) { done(true); },
            [done](caf::error&) { done(false); }, caf::duration{ask_timeout});
        });
  }
  log_.info("doctor", {{"op_id", env.op_id}, {"findings", static_cast<std::int64_t>(report->findings.size())},
                       {"fix", req.fix}});
  if (!req.fix || fixes->empty()) {
    promise.deliver(*report);
    self->quit();
    return;
  }
  auto run = std::make_shared<FixRun>(FixRun{self, report, std::move(*fixes), promise});
  apply_fixes(std::move(run), 0);
}

doctor_actor::behavior_type doctor_behavior(Self self, directory_actor directory, helper_actor helper,
                                            std::string home) {
  self->state.directory = std::move(directory);
  self->state.helper = std::move(helper);
  self->state.home = std::move(home);
  return {
    [self](DoctorRequest& req) {
      auto promise = self->make_response_promise<DoctorReport>();
      auto env = req.env;
      self->request(self->state.directory, ask_timeout, VmListRequest{env})
        .then(
          [self, req, promise, env](VmList& list) mutable {
            self->request(self->state.helper, ask_timeout, HelperInventoryRequest{env})
              .then(
                [self, req, list, promise](HelperInventory& inv) mutable {
                  examine(self, req, list, inv, promise);
                },
                [self, promise, env](caf::error& err) mutable {
                  promise.deliver(with_op_id(err, env.op_id));
                  self->quit();
                });
          },
          [self, promise, env](caf::error& err) mutable {
            promise.deliver(with_op_id(err, env.op_id));
            self->quit();
          });
      return promise;
    },
  };
}

} // namespace

doctor_actor spawn_doctor(caf::actor_system& sys, directory_actor directory, helper_actor helper,
                          std::string home) {
  return sys.spawn(doctor_behavior, std::move(directory), std::move(helper), std::move(home));
}

} // namespace banger
