// Pause, resume and suspend of a VM, and the start of a suspended one: the
// guest's state goes to files in its VM directory and comes back in a fresh
// VMM (the kind's part is in its driver: actors/vmm_driver.hpp).
#include "actors/vm_context.hpp"
#include "actors/vmm_driver.hpp"

namespace banger::vm {

namespace {

Error not_yet(Self self, const char* what) {
  return Error{Errc::conflict, std::string(what) + " of VM " + self->state.rec.name
                                 + " is not available yet"};
}

} // namespace

void do_pause(Self self, const OpPtr&, Then then) { then(not_yet(self, "pause")); }
void do_resume(Self self, const OpPtr&, Then then) { then(not_yet(self, "resume")); }
void do_suspend(Self self, const OpPtr&, Then then) { then(not_yet(self, "suspend")); }
void do_restore_start(Self self, const OpPtr&, bool, Then then) {
  then(not_yet(self, "restore"));
}
void do_snapshot(Self self, const OpPtr&, const std::string&, Then then) {
  then(not_yet(self, "snapshot"));
}
void do_restore(Self self, const OpPtr&, const std::string&, bool, Then then) {
  then(not_yet(self, "restore"));
}
void do_snapshot_remove(Self self, const OpPtr&, const std::string&, Then then) {
  then(not_yet(self, "snapshot removal"));
}

} // namespace banger::vm
