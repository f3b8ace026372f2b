#include "actors/images_actor.hpp"
#include "messages/sheltered.hpp"

#include "actors/directory_actor.hpp"
#include "actors/image_import.hpp"
#include "actors/image_import_actor.hpp"
#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/home_layout.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>

namespace banger {

namespace {

const log::Logger log_{"images"};

/// Imports running at once; more are refused with `busy`. Each is a thread.
constexpr std::size_t max_imports = 4;
/// Finished imports whose outcome a late status poll can still read.
constexpr std::size_t finished_limit = 256;

/// An add whose files are being imported.
struct PendingAdd {
  Image image; ///< registered once the files are in place
  ImageAddStatus status;
  std::vector<caf::typed_response_promise<Image>> waiters; ///< ImageAddRequests
};

/// How an add ended, for status polls: the status or the error.
struct FinishedAdd {
  ImageAddStatus status;
  caf::error error;
};

struct ImagesState {
  ImagesState() = default; // not an aggregate: CAF must not build it from `self`
  store_actor store;
  directory_actor directory;
  std::string home;
  std::map<std::string, Image> images; ///< by id
  std::map<std::string, PendingAdd> adds; ///< by op_id
  std::map<std::string, FinishedAdd> finished; ///< by op_id
  std::deque<std::string> finished_order;
  static inline const char* name = "images";
};

using Self = sheltered_pointer<images_actor, ImagesState>;

/// Whether `path` names a regular file beneath `images` (the installation's
/// <home>/images), after resolving symlinks. Answers only yes or no, and
/// looks at nothing outside `images` for a path that is not lexically in it:
/// an error saying "missing" for one path and "not readable" for another
/// would tell a client which root-only files exist. The helper checks again
/// before any VMM is given the file (privileged/host/vmm_argv.hpp).
bool is_image_file(const std::filesystem::path& images, const std::string& path) {
  namespace fs = std::filesystem;
  auto beneath = [](const fs::path& dir, const fs::path& p) {
    auto [d, q] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
    return d == dir.end() && q != p.end();
  };
  fs::path given(path);
  if (path.empty() || !given.is_absolute() || path.find('\0') != std::string::npos)
    return false;
  auto root = images.lexically_normal();
  if (!beneath(root, given.lexically_normal()))
    return false;
  std::error_code ec;
  auto real_root = fs::canonical(root, ec);
  if (ec)
    return false;
  auto real = fs::canonical(given, ec);
  return !ec && beneath(real_root, real) && fs::is_regular_file(real, ec);
}

bool is_hex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Result<const Image*> resolve_image(const ImagesState& st, const std::string& ref) {
  if (ref.empty())
    return Error{Errc::invalid_argument, "empty image reference"};
  if (auto it = st.images.find(ref); it != st.images.end())
    return &it->second;
  std::vector<const Image*> prefix;
  for (const auto& [id, image] : st.images) {
    if (image.name == ref)
      return &image;
    if (is_hex(ref) && id.compare(0, ref.size(), ref) == 0)
      prefix.push_back(&image);
  }
  if (prefix.size() == 1)
    return prefix.front();
  if (prefix.size() > 1)
    return Error{Errc::ambiguous, "image id prefix " + excerpt(ref) + " matches several images"};
  return Error{Errc::not_found, "no image named " + excerpt(ref)};
}

/// Erases `victim` unless a VM of the directory's listing uses it, then
/// the files `image add` imported for it.
void remove_unused(Self self, const Image& victim, const std::string& op,
                   caf::typed_response_promise<Image> promise, const VmList& list) {
  std::string users;
  std::size_t count = 0;
  for (auto& vm : list.vms)
    if (vm.image_id == victim.id)
      users += (count++ ? ", " : "") + excerpt(vm.name);
  if (count > 0) {
    promise.deliver(make_error(Errc::conflict,
                               "image " + excerpt(victim.name) + " is used by "
                                 + (count == 1 ? "VM " : std::to_string(count) + " VMs: ") + users
                                 + " (remove them first)",
                               op));
    return;
  }
  self->request(self->state.store, std::chrono::seconds(60), EraseImage{victim.id})
    .then(
      [self, victim, promise](Ack) mutable {
        self->state.images.erase(victim.id);
        // The folder is the image's own (named by its id); files used in
        // place stay. The record is gone, so a failure here is retried by
        // the next start's sweep.
        std::error_code ec;
        std::filesystem::remove_all(HomeLayout{self->state.home}.image_import_dir(victim.id), ec);
        if (ec)
          log_.warn("could not remove imported files", {{"image", victim.name}, {"error", ec.message()}});
        promise.deliver(victim);
      },
      [promise, op](caf::error& err) mutable { promise.deliver(with_op_id(err, op)); });
}

void remember(ImagesState& st, const std::string& op, FinishedAdd outcome) {
  st.finished[op] = std::move(outcome);
  st.finished_order.push_back(op);
  while (st.finished_order.size() > finished_limit) {
    st.finished.erase(st.finished_order.front());
    st.finished_order.pop_front();
  }
}

/// Ends the add of `op`: answers its waiters, keeps the outcome for polls.
void finish_add(Self self, const std::string& op, caf::error error) {
  auto& st = self->state;
  auto it = st.adds.find(op);
  if (it == st.adds.end())
    return;
  auto pending = std::move(it->second);
  st.adds.erase(it);
  for (auto& waiter : pending.waiters)
    if (error)
      waiter.deliver(error);
    else
      waiter.deliver(pending.image);
  pending.status.done = !error;
  pending.status.image = pending.image;
  remember(st, op, {pending.status, error});
}

/// Writes the record of `op`'s image; without it, its imported files go.
void register_image(Self self, const std::string& op) {
  auto& image = self->state.adds.at(op).image;
  self->request(self->state.store, std::chrono::seconds(60), SaveImage{image})
    .then(
      [self, op](Ack) {
        auto& image = self->state.adds.at(op).image;
        self->state.images.emplace(image.id, image);
        log_.info("image added", {{"op_id", op}, {"image", image.name}, {"image_id", image.id}});
        finish_add(self, op, {});
      },
      [self, op](caf::error& err) {
        std::error_code ec;
        std::filesystem::remove_all(
          HomeLayout{self->state.home}.image_import_dir(self->state.adds.at(op).image.id), ec);
        finish_add(self, op, with_op_id(err, op));
      });
}

struct AddFields {
  std::string name, kernel, rootfs, initrd, boot_args;
  bool ssh = false;
};

/// Checks an add and starts it: files beneath <home>/images are used in
/// place, any other is opened with the daemon's own rights and imported.
std::optional<caf::error> start_add(Self self, const AddFields& req, const std::string& op) {
  auto& st = self->state;
  if (!is_valid_name(req.name))
    return make_error(Errc::invalid_argument,
                      "invalid image name " + excerpt(req.name) + ": use [a-z0-9][a-z0-9-]{0,62}", op);
  for (auto& [id, image] : st.images)
    if (image.name == req.name)
      return make_error(Errc::already_exists, "an image named " + excerpt(req.name) + " already exists", op);
  for (auto& [id, add] : st.adds)
    if (add.image.name == req.name)
      return make_error(Errc::already_exists,
                        "an image named " + excerpt(req.name) + " is being added (" + id + ")", op);
  if (st.adds.count(op))
    return make_error(Errc::already_exists, "operation " + op + " is already adding an image", op);
  HomeLayout layout{st.home};
  auto images = layout.images_dir();
  Image image{mint_object_id(), req.name, req.kernel, req.initrd, req.rootfs, req.boot_args, now_us(),
              req.ssh};
  std::vector<ImportItem> items;
  std::vector<std::pair<const char*, std::string*>> imported;
  std::pair<const char*, std::string*> files[] = {
    {"kernel", &image.kernel_path}, {"initrd", &image.initrd_path}, {"rootfs", &image.rootfs_path}};
  for (auto& [role, path] : files) {
    if (path->empty() && std::string_view(role) == "initrd")
      continue;
    // Another image's import is copied too: its files go with its record.
    if (is_image_file(images, *path) && !is_image_file(layout.imported_dir(), *path))
      continue;
    auto source = open_import_source(*path, layout);
    if (!source)
      return to_caf_error(Error{source.error().code, std::string(role) + ": " + source.error().message}, op);
    items.push_back({role, std::move(*source)});
    imported.emplace_back(role, path);
  }
  PendingAdd pending;
  pending.status.op_id = op;
  if (!items.empty()) {
    if (st.adds.size() >= max_imports)
      return make_error(Errc::busy, std::to_string(max_imports) + " image imports are running; retry later", op);
    auto job = ImageImport::begin(layout, image.id, std::move(items));
    if (!job)
      return to_caf_error(job.error(), op);
    for (auto& [role, path] : imported)
      *path = (*job)->final_path(role).string();
    pending.status.bytes_total = (*job)->bytes_total();
    pending.status.file = (*job)->current_role();
    pending.image = image;
    st.adds.emplace(op, std::move(pending));
    log_.info("importing image files", {{"op_id", op}, {"image", image.name},
                                        {"bytes", std::to_string((*job)->bytes_total())}});
    spawn_importer(self, op, std::shared_ptr<ImageImport>(std::move(*job)));
    return std::nullopt;
  }
  pending.image = image;
  st.adds.emplace(op, std::move(pending));
  register_image(self, op);
  return std::nullopt;
}

images_actor::behavior_type images_behavior(Self self, ImagesInit init) {
  auto& st = self->state;
  st.store = std::move(init.store);
  st.directory = std::move(init.directory);
  st.home = std::move(init.home);
  std::vector<std::string> ids;
  for (auto& image : init.images) {
    ids.push_back(image.id);
    st.images.emplace(image.id, std::move(image));
  }
  // What an import interrupted by a daemon exit left: no record, no files.
  for (auto& path : sweep_imports(HomeLayout{st.home}, ids))
    log_.info("removed an unfinished image import", {{"path", path}});
  return {
    [self](ImageAddRequest& req) -> caf::result<Image> {
      auto op = req.env.op_id;
      if (auto refused = start_add(self, {req.name, req.kernel_path, req.rootfs_path,
                                          req.initrd_path, req.boot_args, req.ssh}, op))
        return *refused;
      auto promise = self->make_response_promise<Image>();
      if (auto it = self->state.adds.find(op); it != self->state.adds.end())
        it->second.waiters.push_back(promise);
      else if (auto done = self->state.finished.find(op); done != self->state.finished.end())
        done->second.error ? promise.deliver(done->second.error)
                           : promise.deliver(done->second.status.image);
      return promise;
    },
    [self](ImageAddBeginRequest& req) -> caf::result<OpAccepted> {
      auto op = req.env.op_id;
      if (auto refused = start_add(self, {req.name, req.kernel_path, req.rootfs_path,
                                          req.initrd_path, req.boot_args, req.ssh}, op))
        return *refused;
      return OpAccepted{op};
    },
    [self](ImageAddStatusRequest& req) -> caf::result<ImageAddStatus> {
      auto& st = self->state;
      if (auto it = st.adds.find(req.op_id); it != st.adds.end())
        return it->second.status;
      if (auto it = st.finished.find(req.op_id); it != st.finished.end()) {
        if (it->second.error)
          return it->second.error;
        return it->second.status;
      }
      return make_error(Errc::not_found, "no image add with op id " + excerpt(req.op_id), req.env.op_id);
    },
    [self](ImportProgress& progress) {
      if (auto it = self->state.adds.find(progress.op_id); it != self->state.adds.end()) {
        it->second.status.bytes_done = progress.bytes_done;
        it->second.status.file = progress.file;
      }
    },
    [self](ImportFinished& done) {
      auto it = self->state.adds.find(done.op_id);
      if (it == self->state.adds.end())
        return;
      if (done.error_code != 0) {
        log_.warn("image import failed", {{"op_id", done.op_id}, {"error", done.error_message}});
        finish_add(self, done.op_id,
                   make_error(static_cast<Errc>(done.error_code),
                              "cannot import the files of image " + excerpt(it->second.image.name)
                                + ": " + done.error_message,
                              done.op_id));
        return;
      }
      it->second.status.methods = done.methods;
      it->second.status.file.clear();
      log_.info("image files imported", {{"op_id", done.op_id}, {"methods", done.methods}});
      register_image(self, done.op_id);
    },
    [self](ImageListRequest&) {
      ImageList list;
      for (auto& [id, image] : self->state.images)
        list.images.push_back(image);
      std::sort(list.images.begin(), list.images.end(),
                [](const Image& a, const Image& b) { return a.name < b.name; });
      return list;
    },
    [self](ImageShowRequest& req) -> caf::result<Image> {
      auto image = resolve_image(self->state, req.ref);
      if (!image)
        return to_caf_error(image.error(), req.env.op_id);
      return **image;
    },
    [self](ImageRemoveRequest& req) -> caf::result<Image> {
      auto& st = self->state;
      auto op = req.env.op_id;
      auto image = resolve_image(st, req.ref);
      if (!image)
        return to_caf_error(image.error(), op);
      auto victim = **image;
      auto promise = self->make_response_promise<Image>();
      // A local actor that always answers: no timeout needed.
      self->request(st.directory, caf::infinite, VmListRequest{req.env})
        .then([self, victim, op, promise](VmList& list) { remove_unused(self, victim, op, promise, list); },
              [promise, op](caf::error& err) mutable { promise.deliver(with_op_id(err, op)); });
      return promise;
    },
  };
}

} // namespace

images_actor spawn_images(caf::actor_system& sys, ImagesInit init) {
  return sys.spawn(images_behavior, std::move(init));
}

} // namespace banger
