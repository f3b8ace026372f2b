// The route handlers (routes.cpp puts them in the one table). Each builds
// the CLI's request for its route, asks the control actor, and answers the
// CLI's `-o json` object for the reply.
#pragma once

#include "api/exchange.hpp"

namespace banger::api {

// routes_vms.cpp
void vm_list(Exchange& x);
void vm_create(Exchange& x);
void vm_show(Exchange& x);
void vm_remove(Exchange& x);
void vm_start(Exchange& x);
void vm_stop(Exchange& x);
void vm_kill(Exchange& x);
void vm_restart(Exchange& x);
void vm_pause(Exchange& x);
void vm_resume(Exchange& x);
void vm_suspend(Exchange& x);
void vm_snapshots(Exchange& x);
void vm_snapshot_take(Exchange& x);
void vm_snapshot_remove(Exchange& x);
void vm_snapshot_restore(Exchange& x);
void vm_clone(Exchange& x);
void vm_logs(Exchange& x);

// routes_guest.cpp: through the guest agent
void vm_exec(Exchange& x);
void vm_file_get(Exchange& x);
void vm_file_put(Exchange& x);

// routes_misc.cpp
void daemon_status(Exchange& x);
void doctor(Exchange& x);
void doctor_fix(Exchange& x);
void cluster_status(Exchange& x);
void op_show(Exchange& x);
void image_list(Exchange& x);
void image_add(Exchange& x);
void image_import_status(Exchange& x);
void image_show(Exchange& x);
void image_remove(Exchange& x);

// events_stream.cpp
void events(Exchange& x);

// metrics_page.cpp
void metrics(Exchange& x);

// ui.cpp
void ui_page(Exchange& x);
void ui_root(Exchange& x);

} // namespace banger::api
