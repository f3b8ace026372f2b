// The handlers of banger's commands. main() parses, validates, connects (for
// commands that need the daemon) and calls exactly one handler, the one the
// command table names (tools/cli/commands_table.cpp), which returns the
// process exit code.
#pragma once

#include "messages/errc.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/errors.hpp"
#include "tools/cli/output.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace banger::cli {

class Session;

struct Context {
  const Invocation& inv;
  /// Null for commands that do not talk to the daemon (init). Handlers that
  /// end up running a local program (ssh, cp) reset it first.
  std::unique_ptr<Session> session;

  bool json() const { return inv.global.output == OutputFormat::json; }
  /// --timeout, else `fallback`.
  std::chrono::milliseconds timeout(std::chrono::milliseconds fallback
                                    = std::chrono::seconds(30)) const;
};

/// Command-specific checks that need no daemon (names, op ids); "" when fine.
std::string validate(const Invocation& inv);

/// Prints an error the way -o asks (tools/cli/errors.hpp) and returns its
/// exit code (1, or 3 when the daemon went away). `op_id` names the
/// operation when the error does not (a lost connection carries none).
int report_error(const Context& ctx, const caf::error& error, const std::string& prefix = {},
                 const std::string& op_id = {});
/// Writes all of `data` to `fd`; false on error (e.g. a closed pipe).
bool write_all(int fd, const char* data, std::size_t size);

int report_error(const Context& ctx, const Failure& failure);
int report_error(const Context& ctx, Errc code, const std::string& message,
                 const std::string& op_id);

/// From now on SIGINT and SIGTERM set the returned flag instead of ending
/// the process, so a command that follows (vm logs -f, events) ends its
/// loop and exits cleanly (commands_local.cpp).
const std::atomic<bool>& stop_on_interrupt();

/// Writes `text` (or the JSON) to stdout.
void print(const Context& ctx, const std::string& text, const nlohmann::json& json);

/// What `banger init` says to run next for `home`: the helper and the
/// daemon by hand, a readiness check, and for the default home (the one the
/// systemd units name) the units (tools/cli/commands_init.cpp); for a
/// cluster host, `cluster status` too.
std::vector<std::string> init_next_steps(const std::string& home, bool cluster = false);

/// Image id -> name from the daemon; empty when the list cannot be fetched.
ImageNames fetch_image_names(Context& ctx);

// Handlers, by file.
int cmd_init(Context& ctx);            // commands_init.cpp
int cmd_vm_ssh(Context& ctx);          // commands_ssh.cpp
int cmd_vm_cp(Context& ctx);           // commands_ssh.cpp
int cmd_vm_exec(Context& ctx);         // commands_exec.cpp
/// vm cp through the guest agent when the VM has one (commands_exec.cpp):
/// false when SSH is to be used; `exit_code` otherwise.
bool copy_with_agent(Context& ctx, const std::string& src_vm, const std::string& src,
                     const std::string& dst_vm, const std::string& dst, int& exit_code);
int cmd_vm_logs(Context& ctx);         // commands_local.cpp
int cmd_daemon_status(Context& ctx);   // commands_misc.cpp
int cmd_image_add(Context& ctx);       // commands_image.cpp
int cmd_image_ls(Context& ctx);        // commands_misc.cpp
int cmd_image_show(Context& ctx);      // commands_misc.cpp
int cmd_image_rm(Context& ctx);        // commands_image.cpp
int cmd_image_build(Context& ctx);     // commands_image_build.cpp
int cmd_op_show(Context& ctx);         // commands_misc.cpp
int cmd_events(Context& ctx);          // commands_events.cpp
int cmd_doctor(Context& ctx);          // commands_misc.cpp
int cmd_vm_create(Context& ctx);       // commands_vm.cpp
int cmd_vm_ls(Context& ctx);           // commands_vm.cpp
int cmd_vm_show(Context& ctx);         // commands_vm.cpp
int cmd_vm_start(Context& ctx);        // commands_vm.cpp
int cmd_vm_stop(Context& ctx);         // commands_vm.cpp
int cmd_vm_restart(Context& ctx);      // commands_vm.cpp
int cmd_vm_rm(Context& ctx);           // commands_vm.cpp
int cmd_vm_kill(Context& ctx);         // commands_vm.cpp
int cmd_vm_pause(Context& ctx);        // commands_vm.cpp
int cmd_vm_resume(Context& ctx);       // commands_vm.cpp
int cmd_vm_suspend(Context& ctx);      // commands_vm.cpp
int cmd_vm_snapshot(Context& ctx);     // commands_vm.cpp
int cmd_vm_restore(Context& ctx);      // commands_vm.cpp
int cmd_vm_clone(Context& ctx);        // commands_clone.cpp
int cmd_completion(Context& ctx);      // completion.cpp
int cmd_cluster_ca(Context& ctx);      // commands_cluster.cpp
int cmd_cluster_status(Context& ctx);  // commands_cluster.cpp

} // namespace banger::cli
