#include "actors/images_actor.hpp"

#include "actors/directory_actor.hpp"
#include "messages/error.hpp"
#include "messages/excerpt.hpp"
#include "messages/home_layout.hpp"
#include "messages/log.hpp"
#include "messages/op_id.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

namespace banger {

namespace {

const log::Logger log_{"images"};

struct ImagesState {
  ImagesState() = default; // not an aggregate: CAF must not build it from `self`
  store_actor store;
  directory_actor directory;
  std::string home;
  std::map<std::string, Image> images; ///< by id
  static inline const char* name = "images";
};

using Self = images_actor::stateful_pointer<ImagesState>;

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

/// Erases `victim` unless a VM of the directory's listing uses it.
void remove_unused(Self self, const Image& victim, const std::string& op,
                   caf::typed_response_promise<Image> promise, const VmList& list) {
  for (auto& vm : list.vms)
    if (vm.image_id == victim.id) {
      promise.deliver(make_error(Errc::conflict, "image " + excerpt(victim.name) + " is used by VM "
                                                   + excerpt(vm.name), op));
      return;
    }
  self->request(self->state.store, std::chrono::seconds(60), EraseImage{victim.id})
    .then(
      [self, victim, promise](Ack) mutable {
        self->state.images.erase(victim.id);
        promise.deliver(victim);
      },
      [promise, op](caf::error& err) mutable { promise.deliver(with_op_id(err, op)); });
}

images_actor::behavior_type images_behavior(Self self, ImagesInit init) {
  auto& st = self->state;
  st.store = std::move(init.store);
  st.directory = std::move(init.directory);
  st.home = std::move(init.home);
  for (auto& image : init.images)
    st.images.emplace(image.id, std::move(image));
  return {
    [self](ImageAddRequest& req) -> caf::result<Image> {
      auto& st = self->state;
      auto op = req.env.op_id;
      if (!is_valid_name(req.name))
        return make_error(Errc::invalid_argument,
                          "invalid image name " + excerpt(req.name) + ": use [a-z0-9][a-z0-9-]{0,62}", op);
      for (auto& [id, image] : st.images)
        if (image.name == req.name)
          return make_error(Errc::already_exists, "an image named " + excerpt(req.name) + " already exists", op);
      // One answer for missing, unreadable and outside alike (is_image_file).
      auto images = HomeLayout{st.home}.images_dir();
      for (auto* path : {&req.kernel_path, &req.rootfs_path, &req.initrd_path}) {
        if (path == &req.initrd_path && path->empty())
          continue;
        if (!is_image_file(images, *path))
          return make_error(Errc::invalid_argument,
                            "not a regular file beneath " + images.string() + ": " + excerpt(*path),
                            op);
      }
      Image image{mint_object_id(), req.name, req.kernel_path, req.initrd_path, req.rootfs_path,
                  req.boot_args, now_us(), req.ssh};
      auto promise = self->make_response_promise<Image>();
      self->request(st.store, std::chrono::seconds(60), SaveImage{image})
        .then(
          [self, image, promise](Ack) mutable {
            self->state.images.emplace(image.id, image);
            log_.info("image added", {{"image", image.name}, {"image_id", image.id}});
            promise.deliver(image);
          },
          [promise, op](caf::error& err) mutable { promise.deliver(with_op_id(err, op)); });
      return promise;
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
