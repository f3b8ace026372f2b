#include "api/handlers.hpp"

#include "tools/cli/output.hpp"

namespace banger::api {

namespace {

using nlohmann::json;

json import_json(const ImageAddStatus& s) {
  return {{"op_id", s.op_id},
          {"done", s.done},
          {"file", s.file},
          {"bytes_done", s.bytes_done},
          {"bytes_total", s.bytes_total},
          {"methods", s.methods},
          {"image", s.done ? cli::to_json(s.image) : json(nullptr)}};
}

void run_doctor(Exchange& x, bool fix) {
  if (auto report = x.ask<DoctorReport>(DoctorRequest{x.env(), fix}, lifecycle_timeout(x.ctx.settings)))
    x.reply(200, cli::to_json(*report));
}

} // namespace

void daemon_status(Exchange& x) {
  if (auto status = x.ask<DaemonStatus>(DaemonStatusRequest{x.env()}, read_timeout()))
    x.reply(200, cli::to_json(*status));
}

void doctor(Exchange& x) {
  run_doctor(x, false);
}

void doctor_fix(Exchange& x) {
  x.body({});
  run_doctor(x, true);
}

void cluster_status(Exchange& x) {
  if (auto status = x.ask<ClusterStatus>(ClusterStatusRequest{x.env()}, read_timeout()))
    x.reply(200, cli::to_json(*status));
}

void op_show(Exchange& x) {
  if (auto op = x.ask<OperationStatus>(OpStatusRequest{x.env(), x.param(1)}, read_timeout()))
    x.reply(200, cli::to_json(*op));
}

void image_list(Exchange& x) {
  if (auto list = x.ask<ImageList>(ImageListRequest{x.env()}, read_timeout())) {
    json images = json::array();
    for (auto& image : list->images)
      images.push_back(cli::to_json(image));
    x.reply(200, {{"images", images}});
  }
}

void image_add(Exchange& x) {
  auto body = x.body({"name", "kernel", "rootfs", "initrd", "boot_args", "ssh"});
  ImageAddBeginRequest req;
  req.env = x.env();
  read(body, "name", req.name);
  read(body, "kernel", req.kernel_path);
  read(body, "rootfs", req.rootfs_path);
  read(body, "initrd", req.initrd_path);
  read(body, "boot_args", req.boot_args);
  read(body, "ssh", req.ssh);
  for (auto [field, value] : {std::pair{"name", &req.name}, std::pair{"kernel", &req.kernel_path},
                              std::pair{"rootfs", &req.rootfs_path}})
    if (value->empty())
      throw BadRequest(std::string("field ") + field + " is required");
  if (auto accepted = x.ask<OpAccepted>(std::move(req), read_timeout()))
    x.reply(202, {{"op_id", accepted->op_id}});
}

void image_import_status(Exchange& x) {
  if (auto status =
        x.ask<ImageAddStatus>(ImageAddStatusRequest{x.env(), x.param(1)}, read_timeout()))
    x.reply(200, import_json(*status));
}

void image_show(Exchange& x) {
  if (auto image = x.ask<Image>(ImageShowRequest{x.env(), x.param(1)}, read_timeout()))
    x.reply(200, cli::to_json(*image));
}

void image_remove(Exchange& x) {
  if (auto image = x.ask<Image>(ImageRemoveRequest{x.env(), x.param(1)}, read_timeout()))
    x.reply(200, cli::to_json(*image));
}

} // namespace banger::api
