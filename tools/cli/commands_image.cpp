// `banger image add` (async begin + status polls, with the import's
// progress on a terminal) and `banger image rm` (says which imported files
// went with the record).
#include "tools/cli/client.hpp"
#include "tools/cli/commands.hpp"

#include "messages/error.hpp"
#include "messages/home_layout.hpp"

#include <caf/all.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

namespace banger::cli {

namespace {

using namespace std::chrono_literals;

std::string absolute(const std::string& path) {
  if (path.empty())
    return path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

std::string size_text(std::uint64_t bytes) {
  char buf[32];
  if (bytes < (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else if (bytes < (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

/// One rewritten stderr line on a terminal; nothing otherwise, so piped
/// output stays what it was before imports existed.
class ImportProgress {
public:
  explicit ImportProgress(bool enabled) : tty_(enabled && ::isatty(STDERR_FILENO) == 1) {}
  ~ImportProgress() { clear(); }

  void update(const ImageAddStatus& status) {
    if (!tty_ || status.bytes_total == 0)
      return;
    auto percent = status.bytes_done * 100 / status.bytes_total;
    auto line = "importing " + (status.file.empty() ? std::string("files") : status.file) + ": "
                + size_text(status.bytes_done) + " / " + size_text(status.bytes_total) + " ("
                + std::to_string(percent) + "%)";
    if (line != last_)
      std::cerr << "\r\033[K" << line << std::flush;
    last_ = line;
  }

  void done(const ImageAddStatus& status) {
    clear();
    if (tty_ && status.bytes_total > 0)
      std::cerr << "imported " << size_text(status.bytes_total) << " into "
                << std::filesystem::path(status.image.rootfs_path).parent_path().string() << " ("
                << status.methods << ")\n";
  }

  void clear() {
    if (!last_.empty())
      std::cerr << "\r\033[K" << std::flush;
    last_.clear();
  }

private:
  bool tty_;
  std::string last_;
};

/// The files of `image` that `image add` imported (and `image rm` deletes).
std::vector<std::string> imported_files(const Image& image) {
  std::vector<std::string> files;
  for (const auto* path : {&image.kernel_path, &image.initrd_path, &image.rootfs_path})
    if (!path->empty() && is_imported_file(*path, image.id))
      files.push_back(*path);
  return files;
}

} // namespace

int cmd_image_add(Context& ctx) {
  const auto& inv = ctx.inv;
  ImageAddBeginRequest req{client_envelope(),
                           inv.args[0],
                           absolute(inv.value("--kernel")),
                           absolute(inv.value("--rootfs")),
                           absolute(inv.value("--initrd")),
                           inv.value("--boot-args")};
  req.ssh = inv.has("--ssh");
  auto accepted = ctx.session->call<OpAccepted>(req, ctx.timeout());
  if (!accepted)
    return report_error(ctx, accepted.error());
  const auto op_id = accepted->op_id;
  // Each poll is bounded by the timeout, the import as a whole is not: a
  // big rootfs may take minutes to copy where reflinks are not possible.
  ImportProgress progress{!ctx.json()};
  auto interval = 20ms;
  for (;;) {
    auto status = ctx.session->call<ImageAddStatus>(ImageAddStatusRequest{client_envelope(), op_id},
                                                    ctx.timeout());
    if (!status) {
      progress.clear();
      return report_error(ctx, status.error(), {}, op_id);
    }
    if (status->done) {
      progress.done(*status);
      print(ctx, render_image(status->image), to_json(status->image));
      return exit_ok;
    }
    progress.update(*status);
    std::this_thread::sleep_for(interval);
    interval = std::min<std::chrono::milliseconds>(interval * 3 / 2, 200ms);
  }
}

int cmd_image_rm(Context& ctx) {
  auto image = ctx.session->call<Image>(ImageRemoveRequest{client_envelope(), ctx.inv.args[0]},
                                        ctx.timeout());
  if (!image)
    return report_error(ctx, image.error());
  auto removed = imported_files(*image);
  std::string text = "removed image " + image->name + " (" + image->id + ")\n";
  for (const auto& file : removed)
    text += "removed " + file + "\n";
  for (const auto* path : {&image->kernel_path, &image->initrd_path, &image->rootfs_path})
    if (!path->empty() && std::find(removed.begin(), removed.end(), *path) == removed.end())
      text += "kept " + *path + " (used in place, not imported)\n";
  auto json = to_json(*image);
  json["removed_files"] = removed;
  print(ctx, text, json);
  return exit_ok;
}

} // namespace banger::cli
