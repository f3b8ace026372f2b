#include "api/handlers.hpp"

#include "tools/cli/output.hpp"

namespace banger::api {

namespace {

using nlohmann::json;

/// Image id -> name, for the VM objects' "image" field (as `vm show`).
cli::ImageNames image_names(Exchange& x) {
  cli::ImageNames names;
  auto list = x.gateway.call<ImageList>(ImageListRequest{x.env()}, read_timeout());
  if (auto* images = std::get_if<ImageList>(&list))
    for (auto& image : images->images)
      names[image.id] = image.name;
  return names;
}

json vm_json(const VmRecord& vm, const cli::ImageNames& images) {
  auto j = cli::to_json(vm);
  auto it = images.find(vm.image_id);
  j["image"] = it != images.end() ? it->second : "";
  return j;
}

/// A lifecycle action on {ref}; `prepare` fills in the action's options.
template <class Prepare>
void action(Exchange& x, VmAction what, std::initializer_list<std::string_view> fields,
            Prepare prepare) {
  auto body = x.body(fields);
  VmActionRequest req;
  req.env = x.env();
  req.ref = x.param(1);
  req.action = what;
  prepare(req, body);
  if (auto vm = x.ask<VmRecord>(std::move(req), lifecycle_timeout(x.ctx.settings)))
    x.reply(200, vm_json(*vm, image_names(x)));
}

void plain_action(Exchange& x, VmAction what) {
  action(x, what, {}, [](VmActionRequest&, const json&) {});
}

/// A snapshot action: {"vm": VM, "snapshot": name}, as `vm snapshot -o json`.
void snapshot_action(Exchange& x, VmAction what, const std::string& name, int status) {
  VmActionRequest req;
  req.env = x.env();
  req.ref = x.param(1);
  req.action = what;
  req.snapshot = name;
  if (auto vm = x.ask<VmRecord>(std::move(req), lifecycle_timeout(x.ctx.settings)))
    x.reply(status, {{"vm", cli::to_json(*vm)}, {"snapshot", name}});
}

} // namespace

void vm_list(Exchange& x) {
  if (auto list = x.ask<VmList>(VmListRequest{x.env()}, read_timeout())) {
    auto images = image_names(x);
    json vms = json::array();
    for (auto& vm : list->vms)
      vms.push_back(vm_json(vm, images));
    x.reply(200, {{"vms", vms}, {"unreachable", list->unreachable}});
  }
}

void vm_create(Exchange& x) {
  auto spec = vm_spec_of(x.body(vm_spec_fields));
  if (x.query("async") == "true") {
    if (auto accepted =
          x.ask<OpAccepted>(VmCreateBeginRequest{x.env(), std::move(spec)}, read_timeout()))
      x.reply(202, {{"op_id", accepted->op_id}});
    return;
  }
  if (auto vm = x.ask<VmRecord>(VmCreateRequest{x.env(), std::move(spec)},
                                lifecycle_timeout(x.ctx.settings)))
    x.reply(201, vm_json(*vm, image_names(x)));
}

void vm_show(Exchange& x) {
  if (auto vm = x.ask<VmRecord>(VmShowRequest{x.env(), x.param(1)}, read_timeout()))
    x.reply(200, vm_json(*vm, image_names(x)));
}

void vm_remove(Exchange& x) {
  plain_action(x, VmAction::remove);
}

void vm_start(Exchange& x) {
  action(x, VmAction::start, {"wait", "no_wait", "cold"}, [](VmActionRequest& r, const json& b) {
    read(b, "wait", r.wait);
    read(b, "no_wait", r.no_wait);
    read(b, "cold", r.cold);
  });
}

void vm_stop(Exchange& x) {
  plain_action(x, VmAction::stop);
}

void vm_kill(Exchange& x) {
  action(x, VmAction::kill, {"signal"},
         [](VmActionRequest& r, const json& b) { read(b, "signal", r.signal); });
}

void vm_restart(Exchange& x) {
  action(x, VmAction::restart, {"wait", "no_wait"}, [](VmActionRequest& r, const json& b) {
    read(b, "wait", r.wait);
    read(b, "no_wait", r.no_wait);
  });
}

void vm_pause(Exchange& x) {
  plain_action(x, VmAction::pause);
}

void vm_resume(Exchange& x) {
  plain_action(x, VmAction::resume);
}

void vm_suspend(Exchange& x) {
  plain_action(x, VmAction::suspend);
}

void vm_snapshots(Exchange& x) {
  if (auto vm = x.ask<VmRecord>(VmShowRequest{x.env(), x.param(1)}, read_timeout()))
    x.reply(200, {{"vm", vm->name}, {"snapshots", cli::to_json(*vm)["snapshots"]}});
}

void vm_snapshot_take(Exchange& x) {
  auto body = x.body({"name"});
  std::string name;
  read(body, "name", name);
  if (name.empty())
    throw BadRequest("field name is required (the snapshot's name)");
  snapshot_action(x, VmAction::snapshot, name, 201);
}

void vm_snapshot_remove(Exchange& x) {
  snapshot_action(x, VmAction::snapshot_remove, x.param(2), 200);
}

void vm_snapshot_restore(Exchange& x) {
  x.body({});
  snapshot_action(x, VmAction::restore, x.param(2), 200);
}

void vm_clone(Exchange& x) {
  auto body = x.body({"snapshot", "name"});
  VmCloneRequest req;
  req.env = x.env();
  req.source = x.param(1);
  read(body, "snapshot", req.snapshot);
  read(body, "name", req.name);
  auto source = req.source;
  auto snapshot = req.snapshot;
  if (auto vm = x.ask<VmRecord>(std::move(req), lifecycle_timeout(x.ctx.settings)))
    x.reply(201, {{"vm", vm_json(*vm, image_names(x))}, {"source", source}, {"snapshot", snapshot}});
}

void vm_logs(Exchange& x) {
  VmLogReadRequest req;
  req.env = x.env();
  req.ref = x.param(1);
  req.offset = x.query_number("offset", 0, std::numeric_limits<std::int64_t>::max());
  req.max_bytes = static_cast<std::uint32_t>(x.query_number("max", 0, max_log_chunk));
  if (auto chunk = x.ask<VmLogChunk>(std::move(req), read_timeout()))
    x.reply(200, {{"data", chunk->data},
                  {"offset", chunk->offset},
                  {"next_offset", chunk->next_offset},
                  {"size", chunk->size},
                  {"exists", chunk->exists}});
}

} // namespace banger::api
