// vm create (async begin + status polls), vm ls, vm show and the lifecycle
// actions (start, stop, restart, rm, kill) over one or many VMs.
#include "tools/cli/action_progress.hpp"
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include "messages/disk_size.hpp"
#include "messages/published_ports.hpp"
#include "messages/error.hpp"

#include <caf/all.hpp>

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <thread>

namespace banger::cli {

namespace {

using namespace std::chrono_literals;

nlohmann::json vm_json(const VmRecord& vm, const ImageNames& images) {
  auto j = to_json(vm);
  auto it = images.find(vm.image_id);
  j["image"] = it != images.end() ? it->second : "";
  return j;
}

// Shows progress of a running operation on stderr: one rewritten line on a
// terminal, one line per new stage otherwise.
class Progress {
public:
  explicit Progress(bool enabled) : enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {}
  ~Progress() { finish(); }

  void update(const OperationStatus& op) {
    if (!enabled_ || op.stage.empty())
      return;
    auto line = op.op_id + ": " + op.stage;
    if (op.stages_total > 0)
      line += " (" + std::to_string(op.stages_done) + "/" + std::to_string(op.stages_total) + ")";
    if (tty_) {
      if (line != last_)
        std::cerr << "\r\033[K" << line << std::flush;
      dirty_ = true;
    } else if (op.stage != last_stage_) {
      std::cerr << line << "\n";
    }
    last_ = line;
    last_stage_ = op.stage;
  }

  void finish() {
    if (dirty_)
      std::cerr << "\r\033[K" << std::flush;
    dirty_ = false;
  }

private:
  bool enabled_;
  bool tty_;
  bool dirty_ = false;
  std::string last_;
  std::string last_stage_;
};

int print_vm(Context& ctx, const VmRecord& vm) {
  auto images = fetch_image_names(ctx);
  print(ctx, render_vm(vm, images), vm_json(vm, images));
  return exit_ok;
}

/// Whether a VMM ran for `vm` (as the daemon last reported it).
bool was_running(const VmRecord& vm) {
  auto state = vm.runtime.state;
  return vm.runtime.pid != 0 || state == VmState::starting || state == VmState::running
         || state == VmState::stopping;
}

/// What the action did, from the VM before (`before`) and after (`vm`).
std::string done_text(VmAction action, const VmRecord& before, const VmRecord& vm) {
  std::string state{to_string(vm.runtime.state)};
  bool ran = was_running(before);
  if ((action == VmAction::stop || action == VmAction::kill)
      && before.runtime.state == VmState::suspended)
    return vm.name + ": suspended, nothing runs (its saved state stays; `vm start --cold` drops it)";
  switch (action) {
    case VmAction::remove:
      return (ran ? vm.name + ": was running; stopped it first (killed)\n" : std::string())
             + vm.name + ": removed";
    case VmAction::stop:
      if (!ran)
        return vm.name + ": already stopped";
      [[fallthrough]];
    case VmAction::kill:
      if (!ran)
        return vm.name + ": not running (nothing to kill)";
      return vm.name + ": " + state
             + (vm.runtime.last_stop != StopRung::none
                  ? " (" + std::string(to_string(vm.runtime.last_stop)) + ")"
                  : "");
    case VmAction::pause:
      if (before.runtime.state == VmState::paused)
        return vm.name + ": already paused";
      return vm.name + ": paused";
    case VmAction::resume:
      if (before.runtime.state == VmState::running)
        return vm.name + ": already running";
      return vm.name + ": running";
    case VmAction::suspend:
      if (before.runtime.state == VmState::suspended)
        return vm.name + ": already suspended";
      return vm.name + ": suspended (" + std::to_string(vm.runtime.saved.size >> 20)
             + " MiB of state saved)";
    default:
      if (action == VmAction::start && before.runtime.state == VmState::suspended
          && vm.runtime.state == VmState::running)
        return vm.name + ": running, restored (" + vm.runtime.guest_ip + ")";
      return vm.name + ": " + state
             + (vm.runtime.guest_ip.empty() ? "" : " (" + vm.runtime.guest_ip + ")");
  }
}

} // namespace

int cmd_vm_create(Context& ctx) {
  const auto& inv = ctx.inv;
  VmSpec spec;
  spec.name = inv.value("--name");
  spec.image = inv.value("--image");
  spec.cpus = static_cast<std::uint32_t>(std::stoul(inv.value("--cpus", "0")));
  spec.memory_mib = static_cast<std::uint32_t>(std::stoul(inv.value("--memory", "0")));
  spec.start = inv.has("--start");
  spec.wait = inv.has("--wait");
  if (inv.has("--disk"))
    spec.disk_bytes = *parse_disk_size(inv.value("--disk")); // checked by the parser
  spec.no_wait = spec.start && inv.has("--no-wait");
  spec.host = inv.value("--host"); // checked by validate()
  for (const auto& text : inv.values("--publish"))
    spec.ports.push_back(*parse_port_mapping(text)); // checked by validate()

  auto accepted = ctx.session->call<OpAccepted>(VmCreateBeginRequest{client_envelope(), spec},
                                                ctx.timeout());
  if (!accepted)
    return report_error(ctx, accepted.error());
  const auto op_id = accepted->op_id;
  if (inv.has("--no-wait")) {
    print(ctx, op_id + "\n", {{"op_id", op_id}});
    return exit_ok;
  }

  // Poll fast at first (most creates finish in milliseconds), then back off.
  Progress progress{!ctx.json()};
  auto interval = 20ms;
  OperationStatus op;
  for (;;) {
    auto status = ctx.session->call<OperationStatus>(OpStatusRequest{client_envelope(), op_id},
                                                     ctx.timeout());
    if (!status) {
      progress.finish();
      // The error as it came: a lost daemon is exit 3, not a daemon error.
      return report_error(ctx, status.error(), {}, op_id);
    }
    op = std::move(*status);
    if (op.outcome != OperationOutcome::running)
      break;
    progress.update(op);
    std::this_thread::sleep_for(interval);
    interval = std::min<std::chrono::milliseconds>(interval * 3 / 2, 200ms);
  }
  progress.finish();
  if (op.outcome == OperationOutcome::failed)
    return report_error(ctx, static_cast<Errc>(op.error_code), op.error_message, op.op_id);
  auto vm = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), op.vm_id},
                                        ctx.timeout());
  if (!vm)
    return report_error(ctx, vm.error(), {}, op_id);
  if (!ctx.json())
    std::cerr << "created vm " << vm->name << " (" << op_id << ")\n";
  return print_vm(ctx, *vm);
}

int cmd_vm_ls(Context& ctx) {
  auto list = ctx.session->call<VmList>(VmListRequest{client_envelope()}, ctx.timeout());
  if (!list)
    return report_error(ctx, list.error());
  auto images = fetch_image_names(ctx);
  std::sort(list->vms.begin(), list->vms.end(),
            [](const VmRecord& a, const VmRecord& b) { return a.name < b.name; });
  std::sort(list->unreachable.begin(), list->unreachable.end());
  nlohmann::json array = nlohmann::json::array();
  for (const auto& vm : list->vms)
    array.push_back(vm_json(vm, images));
  print(ctx, render_vm_list(*list, images, now_us()),
        {{"vms", array}, {"unreachable", list->unreachable}});
  return exit_ok;
}

int cmd_vm_show(Context& ctx) {
  auto vm = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), ctx.inv.args[0]},
                                        ctx.timeout());
  if (!vm)
    return report_error(ctx, vm.error());
  return print_vm(ctx, *vm);
}

namespace {

// One lifecycle action over every REF, sent at once.
int run_action(Context& ctx, VmAction action) {
  const auto& inv = ctx.inv;
  // Lifecycle requests may legitimately take the whole stop grace period, a
  // start --wait the whole boot timeout.
  const auto& settings = ctx.session->config().settings;
  auto slow = std::max<std::chrono::milliseconds>(
    120s, std::max(settings.vmm_stop_grace, settings.vmm_boot_timeout) + 30s);
  // A start waits for SSH unless told not to (the image decides).
  bool is_slow = action != VmAction::start || !inv.has("--no-wait");
  auto timeout = ctx.timeout(is_slow ? slow : std::chrono::milliseconds(30s));

  // Every REF resolved first: two that name one VM ("t2 t2", a name and
  // its id) act once, and what the VM was before says what the action did
  // ("already stopped"). A ref that names no VM fails as the action would.
  std::vector<VmShowRequest> shows;
  for (const auto& ref : inv.args)
    shows.push_back({client_envelope(), ref});
  auto before = ctx.session->call_all<VmRecord>(shows, ctx.timeout());
  std::vector<VmActionRequest> requests;
  std::vector<std::size_t> acted;  // per request: its index in inv.args
  std::vector<std::string> ids;
  std::vector<std::size_t> shown;  // refs reported, in order (duplicates left out)
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (before[i]) {
      if (std::find(ids.begin(), ids.end(), before[i]->id) != ids.end())
        continue;
      ids.push_back(before[i]->id);
      acted.push_back(i);
      requests.push_back({client_envelope(), before[i]->id, action, inv.value("--signal"),
                          inv.has("--wait"), inv.has("--no-wait"), {}, inv.has("--cold")});
    }
    shown.push_back(i);
  }
  std::vector<caf::expected<VmRecord>> outcomes;
  {
    // Waits that are worth watching: a stop's grace, a kill's exit.
    bool waits = action != VmAction::start;
    ActionProgress progress{*ctx.session, ids, waits && !ctx.json()};
    outcomes = ctx.session->call_all<VmRecord>(requests, timeout);
  }

  int exit_code = exit_ok;
  nlohmann::json array = nlohmann::json::array();
  for (auto i : shown) {
    const auto& ref = inv.args[i];
    auto at = std::find(acted.begin(), acted.end(), i);
    auto& result = at == acted.end() ? before[i] : outcomes[static_cast<std::size_t>(at - acted.begin())];
    if (result) {
      bool ran = was_running(*before[i]);
      if (!ctx.json())
        std::cout << done_text(action, *before[i], *result) << "\n";
      array.push_back({{"ref", ref}, {"ok", true}, {"was_running", ran}, {"vm", to_json(*result)}});
      continue;
    }
    auto f = failure_of(result.error());
    exit_code = std::max(exit_code, f.exit_code);
    if (ctx.json()) {
      array.push_back({{"ref", ref}, {"ok", false}, {"error", error_json(f)["error"]}});
    } else {
      f.message = ref + ": " + f.message;
      report_error(ctx, f);
    }
  }
  if (ctx.json())
    std::cout << dump({{"results", array}});
  std::cout.flush();
  return exit_code;
}

} // namespace

int cmd_vm_start(Context& ctx) {
  return run_action(ctx, VmAction::start);
}

int cmd_vm_stop(Context& ctx) {
  return run_action(ctx, VmAction::stop);
}

int cmd_vm_restart(Context& ctx) {
  return run_action(ctx, VmAction::restart);
}

int cmd_vm_rm(Context& ctx) {
  return run_action(ctx, VmAction::remove);
}

int cmd_vm_kill(Context& ctx) {
  return run_action(ctx, VmAction::kill);
}

int cmd_vm_pause(Context& ctx) {
  return run_action(ctx, VmAction::pause);
}

int cmd_vm_resume(Context& ctx) {
  return run_action(ctx, VmAction::resume);
}

int cmd_vm_suspend(Context& ctx) {
  return run_action(ctx, VmAction::suspend);
}

namespace {

std::string size_text(std::uint64_t bytes) {
  if (bytes < (1u << 20))
    return std::to_string((bytes + 1023) >> 10) + " KiB";
  return std::to_string(bytes >> 20) + " MiB";
}

std::string render_snapshots(const VmRecord& vm) {
  if (vm.snapshots.empty())
    return vm.name + " has no snapshots\n";
  std::vector<std::vector<std::string>> rows{{"NAME", "FROM", "MEMORY", "DISK", "CREATED"}};
  for (const auto& s : vm.snapshots)
    rows.push_back({s.name, std::string(to_string(s.from)),
                    s.memory.empty() ? "-" : size_text(s.memory.size), size_text(s.disk_size),
                    format_time(s.created_at_us)});
  return render_table(rows);
}

/// One snapshot request (take, restore, delete) on one VM.
int snapshot_action(Context& ctx, VmAction action, const std::string& ref,
                    const std::string& name) {
  const auto& settings = ctx.session->config().settings;
  auto slow = std::max<std::chrono::milliseconds>(
    120s, std::max(settings.vmm_stop_grace, settings.vmm_boot_timeout) + 30s);
  VmActionRequest request{client_envelope(), ref, action, {}, ctx.inv.has("--wait"),
                          ctx.inv.has("--no-wait"), name, false};
  auto vm = ctx.session->call<VmRecord>(request, ctx.timeout(slow));
  if (!vm)
    return report_error(ctx, vm.error());
  std::string text;
  switch (action) {
    case VmAction::snapshot:
      text = vm->name + ": snapshot " + name + " taken";
      break;
    case VmAction::restore:
      text = vm->name + ": restored to snapshot " + name + ", "
             + std::string(to_string(vm->runtime.state));
      break;
    default:
      text = vm->name + ": snapshot " + name + " deleted";
  }
  print(ctx, text + "\n", {{"vm", to_json(*vm)}, {"snapshot", name}});
  return exit_ok;
}

} // namespace

int cmd_vm_snapshot(Context& ctx) {
  const auto& args = ctx.inv.args;
  if (args[0] == "ls") {
    if (args.size() != 2)
      return report_error(ctx, Errc::invalid_argument, "usage: banger vm snapshot ls REF", "");
    auto vm = ctx.session->call<VmRecord>(VmShowRequest{client_envelope(), args[1]},
                                          ctx.timeout());
    if (!vm)
      return report_error(ctx, vm.error());
    auto j = to_json(*vm);
    print(ctx, render_snapshots(*vm), {{"vm", vm->name}, {"snapshots", j["snapshots"]}});
    return exit_ok;
  }
  if (args[0] == "rm") {
    if (args.size() != 3)
      return report_error(ctx, Errc::invalid_argument, "usage: banger vm snapshot rm REF NAME",
                          "");
    return snapshot_action(ctx, VmAction::snapshot_remove, args[1], args[2]);
  }
  if (args.size() != 2)
    return report_error(ctx, Errc::invalid_argument, "usage: banger vm snapshot REF NAME", "");
  return snapshot_action(ctx, VmAction::snapshot, args[0], args[1]);
}

int cmd_vm_restore(Context& ctx) {
  return snapshot_action(ctx, VmAction::restore, ctx.inv.args[0], ctx.inv.args[1]);
}

} // namespace banger::cli
