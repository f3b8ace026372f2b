// Shared handler plumbing (errors, printing) and the small
// commands: daemon status, image *, op show, doctor.
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include "messages/error.hpp"

#include <caf/all.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace banger::cli {

namespace {

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

int report_error(const Context& ctx, const Failure& failure) {
  return emit(failure, ctx.inv.global.output);
}

int report_error(const Context& ctx, Errc code, const std::string& message,
                 const std::string& op_id) {
  return report_error(ctx, failure(code, message, op_id));
}

int report_error(const Context& ctx, const caf::error& error, const std::string& prefix,
                 const std::string& op_id) {
  auto f = failure_of(error, op_id);
  f.message = prefix + f.message;
  return report_error(ctx, f);
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
  req.ssh = inv.has("--ssh");
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
