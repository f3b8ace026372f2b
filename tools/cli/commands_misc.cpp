// Shared handler plumbing (errors, printing, dispatch) and the small
// commands: daemon status, image *, op show, doctor.
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include "messages/error.hpp"
#include "messages/op_id.hpp"

#include <caf/all.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace banger::cli {

namespace {

/// [a-z0-9][a-z0-9-]{0,62}, as the daemon checks names.
bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 63)
    return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
    if (!ok)
      return false;
  }
  return true;
}

std::string absolute(const std::string& path) {
  if (path.empty())
    return path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

} // namespace

std::chrono::milliseconds Context::timeout(std::chrono::milliseconds fallback) const {
  return inv.global.timeout.value_or(fallback);
}

Handler find_handler(std::string_view command) {
  static const std::pair<std::string_view, Handler> table[] = {
    {"init", cmd_init},
    {"daemon status", cmd_daemon_status},
    {"image add", cmd_image_add},
    {"image ls", cmd_image_ls},
    {"image show", cmd_image_show},
    {"image rm", cmd_image_rm},
    {"image build", cmd_image_build},
    {"vm create", cmd_vm_create},
    {"vm ls", cmd_vm_ls},
    {"vm show", cmd_vm_show},
    {"vm start", cmd_vm_action},
    {"vm stop", cmd_vm_action},
    {"vm restart", cmd_vm_action},
    {"vm rm", cmd_vm_action},
    {"vm kill", cmd_vm_action},
    {"vm ssh", cmd_vm_ssh},
    {"vm logs", cmd_vm_logs},
    {"op show", cmd_op_show},
    {"doctor", cmd_doctor},
  };
  for (auto [name, handler] : table)
    if (name == command)
      return handler;
  return nullptr;
}

std::string validate(const Invocation& inv) {
  const auto& name = inv.command->name;
  if (name == "op show" && !is_valid_op_id(inv.args[0]))
    return "'" + inv.args[0] + "' is not an op id (op- followed by 12 hex digits)";
  if ((name == "image add" || name == "image build") && !valid_name(inv.args[0]))
    return "invalid image name '" + inv.args[0] + "': use [a-z0-9][a-z0-9-]{0,62}";
  if (name == "vm create" && inv.has("--name") && !valid_name(inv.value("--name")))
    return "invalid VM name '" + inv.value("--name") + "': use [a-z0-9][a-z0-9-]{0,62}";
  if (name == "vm create" && inv.has("--cpus") && inv.value("--cpus") == "0")
    return "--cpus must be at least 1";
  if (name == "vm create" && inv.has("--memory") && inv.value("--memory") == "0")
    return "--memory must be at least 1 MiB";
  return {};
}

int report_error(const Context& ctx, Errc code, const std::string& message,
                 const std::string& op_id, int exit_code) {
  if (ctx.json()) {
    std::cout << dump(error_json(code, message, op_id)) << std::flush;
  } else {
    std::string line = "error: " + message;
    if (!op_id.empty())
      line += " (" + op_id + ")";
    std::cerr << line << "\n";
  }
  return exit_code;
}

bool lost_daemon(const caf::error& error) {
  if (error.category() != caf::atom("system"))
    return false;
  switch (static_cast<caf::sec>(error.code())) {
    case caf::sec::request_receiver_down:
    case caf::sec::remote_linking_failed:
    case caf::sec::cannot_connect_to_node:
      return true;
    default:
      return false;
  }
}

int report_error(const Context& ctx, const caf::error& error, const std::string& prefix,
                 const std::string& op_id) {
  auto v = view(error);
  if (v.op_id.empty())
    v.op_id = op_id;
  int exit_code = exit_failed;
  if (lost_daemon(error)) {
    v.message = "lost the connection to bangerd (" + v.message + ")";
    exit_code = exit_unreachable;
  } else if (error.category() == caf::atom("system")
             && static_cast<caf::sec>(error.code()) == caf::sec::request_timeout) {
    v.message = "no reply from bangerd in time (see --timeout)";
  }
  if (exit_code == exit_unreachable && ctx.json()) {
    // Not a daemon error, so not an Errc: the CLI's own code (docs/cli.md).
    std::cout << dump({{"error", {{"code", "daemon_unreachable"},
                                  {"message", prefix + v.message},
                                  {"op_id", v.op_id}}}})
              << std::flush;
    return exit_code;
  }
  return report_error(ctx, v.code, prefix + v.message, v.op_id, exit_code);
}

void print(const Context& ctx, const std::string& text, const nlohmann::json& json) {
  if (ctx.json())
    std::cout << dump(json);
  else
    std::cout << text;
  std::cout.flush();
}

ImageNames fetch_image_names(Context& ctx) {
  ImageNames names;
  auto list = ctx.session->call<ImageList>(ImageListRequest{client_envelope()}, ctx.timeout());
  if (list)
    for (const auto& image : list->images)
      names[image.id] = image.name;
  return names;
}

int cmd_daemon_status(Context& ctx) {
  auto status = ctx.session->call<DaemonStatus>(DaemonStatusRequest{client_envelope()},
                                                ctx.timeout());
  if (!status)
    return report_error(ctx, status.error());
  print(ctx, "daemon:  " + ctx.session->address() + "\n" + render_status(*status),
        to_json(*status));
  return exit_ok;
}

int cmd_image_add(Context& ctx) {
  const auto& inv = ctx.inv;
  ImageAddRequest req{client_envelope(),           inv.args[0],
                      absolute(inv.value("--kernel")), absolute(inv.value("--rootfs")),
                      absolute(inv.value("--initrd")), inv.value("--boot-args")};
  auto image = ctx.session->call<Image>(req, ctx.timeout());
  if (!image)
    return report_error(ctx, image.error());
  print(ctx, render_image(*image), to_json(*image));
  return exit_ok;
}

int cmd_image_ls(Context& ctx) {
  auto list = ctx.session->call<ImageList>(ImageListRequest{client_envelope()}, ctx.timeout());
  if (!list)
    return report_error(ctx, list.error());
  nlohmann::json images = nlohmann::json::array();
  for (const auto& image : list->images)
    images.push_back(to_json(image));
  print(ctx, render_image_table(list->images, now_us()), {{"images", images}});
  return exit_ok;
}

int cmd_image_show(Context& ctx) {
  auto image = ctx.session->call<Image>(ImageShowRequest{client_envelope(), ctx.inv.args[0]},
                                        ctx.timeout());
  if (!image)
    return report_error(ctx, image.error());
  print(ctx, render_image(*image), to_json(*image));
  return exit_ok;
}

int cmd_image_rm(Context& ctx) {
  auto image = ctx.session->call<Image>(ImageRemoveRequest{client_envelope(), ctx.inv.args[0]},
                                        ctx.timeout());
  if (!image)
    return report_error(ctx, image.error());
  print(ctx, "removed image " + image->name + " (" + image->id + ")\n", to_json(*image));
  return exit_ok;
}

int cmd_op_show(Context& ctx) {
  auto op = ctx.session->call<OperationStatus>(
    OpStatusRequest{client_envelope(), ctx.inv.args[0]}, ctx.timeout());
  if (!op)
    return report_error(ctx, op.error());
  print(ctx, render_op(*op), to_json(*op));
  return exit_ok;
}

int cmd_doctor(Context& ctx) {
  auto report = ctx.session->call<DoctorReport>(
    DoctorRequest{client_envelope(), ctx.inv.has("--fix")},
    ctx.timeout(std::chrono::seconds(120)));
  if (!report)
    return report_error(ctx, report.error());
  print(ctx, render_doctor(*report), to_json(*report));
  for (const auto& f : report->findings)
    if (!f.fixed)
      return exit_failed;
  return exit_ok;
}

} // namespace banger::cli
