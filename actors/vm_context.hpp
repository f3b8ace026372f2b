// Internal to the VM actor (actors/vm_*.cpp, actors/vmm_*.cpp): its state,
// the operation bookkeeping and the helpers every lifecycle step uses. Not
// for other actors: they talk to a VM through vm_actor
// (actors/internal_protocol.hpp).
#pragma once

#include "actors/agent_link.hpp"
#include "actors/internal_protocol.hpp"
#include "messages/sheltered.hpp"
#include "actors/op_done.hpp"
#include "actors/step_runner.hpp"
#include "actors/vm_actor.hpp"
#include "actors/vm_queue.hpp"
#include "messages/error.hpp"
#include "messages/home_layout.hpp"
#include "messages/log.hpp"
#include "messages/oplog.hpp"

#include <caf/all.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace banger::vm {

using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
/// Ends an operation whose continuation was dropped (actors/op_done.hpp).
using dropped_atom = caf::atom_constant<caf::atom("dropped")>;

/// Requests to the VM actor's in-process peers carry no CAF timeout: the
/// store answers every request, and the helper link and the vmm_io actor
/// enforce their own deadlines (helper requests, VMM socket and API calls)
/// and always answer; a peer that dies bounces the request as an error. A
/// request timeout is not free in CAF 0.17: setting and cancelling it are
/// two events for the clock thread (thread_safe_actor_clock), i.e. two
/// thread wake-ups per request, ~50 per lifecycle (BENCHMARKS.md).
inline constexpr auto local_request = caf::infinite;
// Upper bounds for a hung VMM, generous so an overloaded host (slow to
// schedule a fresh VMM) is not mistaken for one.
inline constexpr auto socket_timeout = std::chrono::milliseconds(15000);

/// The VM actor's log (the `sub` field of its lines).
inline constexpr log::Logger log_{"vm"};

class VmmDriver;

struct Op {
  explicit Op(OpLog l) : log(std::move(l)) {}
  OpLog log;
  OperationStatus status;
  Reply reply; ///< empty: nobody waits for the outcome
  /// The final status is durable (SaveOutcome committed it with the record).
  bool recorded = false;
};
using OpPtr = std::shared_ptr<Op>;

using vm_impl = vm_actor::extend<caf::reacts_to<deadline_atom, std::uint64_t>,
                                 caf::reacts_to<dropped_atom>, caf::reacts_to<AgentUp>>;

struct VmActorState {
  VmActorState() = default; // not an aggregate: CAF must not build it from `self`
  VmRecord rec;
  Image image;
  std::shared_ptr<const VmDeps> deps;
  /// The VMM kind's driver, chosen once when the actor is made.
  const VmmDriver* vmm = nullptr;
  /// Lifecycle requests, one at a time (set up when the actor starts).
  std::optional<Queue> queue;
  /// The operation the queue runs now (null: none).
  OpPtr current;
  /// operation_tick() when the last operation ended (0: none yet).
  std::uint64_t last_op_end = 0;
  bool retired = false;
  /// The record changed since it was last made durable: the operation's end
  /// writes it with the operation's status (record_outcome).
  bool dirty = false;
  /// The operation ends by erasing the record (release_and_erase): the erase
  /// goes with the operation's status; `retired` once that is committed.
  bool erase_pending = false;
  /// The current VMM's guest agent link (actors/agent_link.hpp); null
  /// while there is no VMM.
  agent_link_actor agent;
  /// Exit watch of the current VMM (0: none).
  std::uint64_t exit_token = 0;
  /// Continuation waiting for the VMM to exit (stop, kill, rollback).
  std::function<void(Status)> exit_waiter;
  std::uint64_t deadline_seq = 0;
  /// Set while a start waits on the VMM: an exit aborts the step at once.
  std::function<void()> abort_on_exit;
  /// The VMM log's size when the current VMM was launched: its own output
  /// starts there (actors/vmm_log.hpp).
  std::uint64_t log_offset = 0;
  /// When the current VMM's guest was started (its InstanceStart or
  /// equivalent); unset for a VMM adopted after a daemon restart.
  std::optional<std::chrono::steady_clock::time_point> instance_started;
  /// Ends of operations whose continuation was dropped, run one per
  /// dropped_atom.
  std::deque<std::function<void()>> dropped;
  /// Lives exactly as long as this state. Declared last, so destroyed first:
  /// continuations destroyed with (or after) the state see it expired and
  /// leave the operation alone instead of touching a dead actor.
  std::shared_ptr<const int> alive = std::make_shared<const int>(0);
  static inline const char* name = "vm";
};

using Self = sheltered_pointer<vm_impl, VmActorState>;

// -- helpers (vm_context.cpp) ------------------------------------------------------

Error to_error(const caf::error& err);

/// Makes a StepDone that runs at most once: a step may be completed by its
/// reply or cut short by the VMM exiting, whichever comes first.
StepDone once(StepDone done);

HomeLayout home_of(Self self);

template <class Reply, class Request>
void ask_helper(Self self, Request request, std::function<void(Result<Reply>)> then) {
  self->request(self->state.deps->helper, local_request, std::move(request))
    .then([then](Reply& reply) { then(std::move(reply)); },
          [then](caf::error& err) { then(to_error(err)); });
}

template <class Reply, class Request>
void ask_io(Self self, Request request, std::function<void(Result<Reply>)> then) {
  self->request(self->state.deps->io, local_request, std::move(request))
    .then([then](Reply& reply) { then(std::move(reply)); },
          [then](caf::error& err) { then(to_error(err)); });
}

/// Tells the VM events receiver (deps.events) about the record as it is now.
void publish(Self self);
/// Makes the record durable, then continues; deps.events learns the change.
/// For a state that must be on disk before what comes next (a host change,
/// a long wait); the state an operation ends in is `settle`d instead.
void persist(Self self, StepDone then);
/// The record as it is now is what the operation ends with: deps.events
/// learns it at once, and it becomes durable with the operation's own status
/// in one commit before the reply (record_outcome).
void settle(Self self);
/// Ends an operation's work: commits the record (if it changed, or its
/// erasure) and the operation's final status in one store transaction, then
/// calls `done` (the queue's continuation) with the outcome; a failed commit
/// fails a successful operation with that error.
void record_outcome(Self self, const OpPtr& op, std::optional<Error> error,
                    std::function<void(std::optional<Error>)> done);
Envelope envelope_of(const OpPtr& op);

void report(Self self, const OpPtr& op);
OpPtr begin_op(Self self, const std::string& kind, const std::string& op_id);
void stage(Self self, const OpPtr& op, const std::string& name);
/// Ends an operation: replies, logs and reports the outcome; a VM that was
/// deleted closes its queue and exits.
void finish(Self self, const OpPtr& op, std::optional<Error> error);

bool vmm_alive(Self self);
void watch_exit(Self self, StepDone done);
/// Waits until the VMM exits or `timeout` passes (then: Errc::timeout).
void wait_exit(Self self, std::chrono::milliseconds timeout, StepDone done);
/// Signals the VMM through the helper and waits for it to exit.
void signal_and_wait(Self self, const OpPtr& op, const std::string& signal,
                     std::chrono::milliseconds timeout, StepDone done);
void forget_vmm(Self self);

/// The current VMM's agent link: made once the VMM is watched, ended with it.
void start_agent_link(Self self);
void stop_agent_link(Self self, const std::string& why);

// -- teardown (vm_teardown.cpp) --------------------------------------------------------

/// Tears down whatever of a start exists (VMM, tap, runtime dir), with the
/// undo functions of start_steps. On failure the VM is in `error` with a
/// last_error naming what is left, persisted, and `then` gets the cause;
/// the record keeps the tap so the next stop or rm tries again.
void cleanup_runtime(Self self, const OpPtr& op, std::function<void(std::optional<Error>)> then);

/// After the undos `failures` failed: the sentence for last_error naming
/// what is left, keeping on record what the next teardown needs (the tap;
/// the VMM while it lives); nullopt when nothing is left after all.
std::optional<std::string> teardown_failed(Self self, const std::vector<UndoFailure>& failures);

/// A stop, kill or rm could not kill the VMM: the VM stays `running` (or
/// `error` if it died meanwhile) with last_error "<what>: ...", persisted.
void vmm_survived(Self self, const std::string& what, const Error& cause,
                  std::function<void(std::optional<Error>)> then);

/// Releases the VM's rootfs, erases the record and retires the actor: the
/// end of an rm, a failed create, or a create or rm cut off by a daemon
/// restart. The record loses its rootfs path (durably) before the rootfs
/// goes; if the release fails, the VM stays in `error` ("<what>: ...") and
/// rm tries again.
void release_and_erase(Self self, const OpPtr& op, const std::string& what,
                       std::function<void(std::optional<Error>)> then);

// -- operations (vm_operations.cpp, vm_recovery.cpp) ---------------------------------

using Then = std::function<void(std::optional<Error>)>;

/// Runs one queued request as operation `op`; `then` ends it.
void run_request(Self self, const OpPtr& op, Request request, Then then);

/// Starts the VM; with `wait`, also waits until the guest's SSH port answers.
void do_start(Self self, const OpPtr& op, bool wait, Then then);

/// Removes the VM: its VMM, runtime, rootfs, then its record.
void do_delete(Self self, const OpPtr& op, Then then);

/// Stops the VM: the guest is asked to power off and given the stop grace
/// (less while it cannot be listening yet: vm_stop.cpp), then the VMM is
/// killed.
void do_stop(Self self, const OpPtr& op, Then then);

// -- pause, suspend, snapshots (vm_suspend.cpp, vm_snapshot.cpp) ------------------

/// A running guest's vCPUs stop (state paused); its VMM and memory stay.
void do_pause(Self self, const OpPtr& op, Then then);
/// A paused guest runs on (state running).
void do_resume(Self self, const OpPtr& op, Then then);
/// Saves a running or paused guest's state in its VM directory and ends the
/// VMM (state suspended); the next start restores it.
void do_suspend(Self self, const OpPtr& op, Then then);
/// A start of a suspended VM: a fresh VMM loads the saved state. A failed
/// restore leaves the VM suspended with its files.
void do_restore_start(Self self, const OpPtr& op, bool wait, Then then);
/// Drops a suspended VM's saved state (its files and the record's mention).
void forget_saved_state(Self self);

/// How a saved state comes back (restore_guest).
struct Restore {
  SavedState saved;
  /// The state is used up by this restore (a suspend's): once the guest
  /// runs, its files go. A snapshot's stays for the next restore.
  bool consume = false;
  bool wait = false;       ///< wait for the guest's SSH afterwards
  bool stay_paused = false; ///< leave the guest paused (a snapshot of a paused VM)
  VmState on_failure = VmState::stopped; ///< where a failed restore leaves the VM
  std::string way_out; ///< what the user can do when it fails, for the error
  /// A clone's own identity: the guest agent applies it right after the
  /// guest runs again, before the guest counts as ready (vm_clone.cpp).
  std::optional<AgentIdentity> identity;
};

/// Runs `job` (blocking file work: state_files.hpp) on a detached actor;
/// `then` runs on the VM actor with its result.
void off_thread(Self self, std::function<Result<SavedState>()> job,
                std::function<void(Result<SavedState>)> then);
/// The name of this VM's VMM kind (its driver's): the only kind whose
/// saved state its VMMs can load.
std::string vmm_kind(Self self);
/// Pauses the guest (stage pause_vcpus).
void pause_then(Self self, const OpPtr& op, StepDone done);
/// Records the VM paused (durably), then pauses the guest; a refused pause
/// puts it back to running.
void pause_durably(Self self, const OpPtr& op, StepDone done);
/// Runs `work` on a guest that is not running: at once if it is paused,
/// after pause_durably if it runs; a refused pause goes to `refused`.
void while_paused(Self self, const OpPtr& op, std::function<void()> work,
                  std::function<void(Error)> refused);

/// A fresh VMM loads `plan.saved` (verified first), and the guest runs on.
void restore_guest(Self self, const OpPtr& op, const Restore& plan, Then then);
/// The guest agent of the restored guest applies `identity` (stage
/// set_identity): it waits for the agent's hello first.
void take_identity(Self self, const OpPtr& op, const AgentIdentity& identity, StepDone done);

// -- clones (vm_clone.cpp) -------------------------------------------------------------

/// The clone's side: rootfs, the source's state copied in, restore, identity.
void do_clone(Self self, const OpPtr& op, const VmCloneWork& work, Then then);
/// A clone that has not taken its own identity yet has this file in its VM
/// directory (from its rootfs on, until set_identity is done): a daemon
/// restart that finds it removes the clone, whose guest would otherwise
/// run with its source's address.
bool clone_unfinished(Self self);
/// Removes the clone's marker (it is finished, or removed).
void clone_finished(Self self);

/// The source's side: its snapshot, or its guest as it is now, written into
/// the clone's directory; `work.out` gets the clone's saved state.
void do_clone_out(Self self, const OpPtr& op, const CloneOutWork& work, Then then);

/// The VM's snapshot `name`, or null.
const SnapshotInfo* find_snapshot(Self self, const std::string& name);
/// Keeps snapshot `name` of the VM as it is now.
void do_snapshot(Self self, const OpPtr& op, const std::string& name, Then then);
/// Rolls the VM back to snapshot `name`.
void do_restore(Self self, const OpPtr& op, const std::string& name, bool wait, Then then);
/// Deletes snapshot `name` and its files.
void do_snapshot_remove(Self self, const OpPtr& op, const std::string& name, Then then);

/// The VMM is gone: take its runtime back, then record the stop with `rung`.
void stopped(Self self, const OpPtr& op, StopRung rung, Then then);

/// After a daemon restart: adopt a live VMM, or clean up what is left.
void do_reconcile(Self self, const OpPtr& op, const VmReconcile& work, Then then);
/// The inventory's VMMs of this VM that its record does not own.
std::vector<VmmProcess> strays_of(Self self, const HelperInventory& inventory);
/// An operation of the VM ended after `work`'s inventory was asked for.
bool is_stale(Self self, const VmReconcile& work);

// -- the start, for every VMM kind (vm_start.cpp) ----------------------------------------

/// The start of a VM as data; the kind's part comes from its driver
/// (actors/vmm_driver.hpp). The undo functions are also the clean-up after a
/// stop, so there is one teardown. With `restore`, the VMM loads that saved
/// state (paused) instead of being configured and booted.
std::vector<Step> start_steps(Self self, const OpPtr& op,
                              std::optional<SavedState> restore = std::nullopt);

/// Asks the guest to power off, the kind's way. Done once the request is
/// delivered.
void request_shutdown(Self self, const OpPtr& op, StepDone done);

/// Waits until the guest's SSH port greets (records boot.guest_ready_us).
void wait_guest_ready(Self self, const OpPtr& op, StepDone done);

// -- published ports (vm_ports.cpp) ---------------------------------------------------

/// The start step for a VM with ports: the helper's rules to its guest
/// address; its undo removes them.
Step publish_ports_step(Self self, const OpPtr& op);

/// Removes the VM's port rules (none is done); a failure is logged too.
void unpublish_ports(Self self, const OpPtr& op, StepDone done);

/// For an adopted running VM: its rules again, in case they were flushed.
/// A failure is logged, never the adoption's.
void republish_ports(Self self, const OpPtr& op, std::function<void()> then);

} // namespace banger::vm
