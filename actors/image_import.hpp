// Importing an image's files into <home>/images/_imported/<id>/: the
// blocking file work behind `image add`, free of CAF so it can be tested
// directly. bangerd runs it with its own (unprivileged) rights on a thread
// of its own (actors/image_import_actor.cpp).
//
// Atomic: files are written into a hidden folder next to the final one,
// each fsynced, then the folder is renamed into place and its parent
// fsynced. Until commit() nothing is at the final path; an import that fails
// or is destroyed first removes its folder.
#pragma once

#include "messages/home_layout.hpp"
#include "messages/result.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace banger {

/// An owned file descriptor (closed on destruction).
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() { int fd = fd_; fd_ = -1; return fd; }
  explicit operator bool() const { return fd_ >= 0; }

private:
  int fd_ = -1;
};

/// A source file opened for import: regular files only.
struct ImportSource {
  Fd fd;
  std::string path;
  std::uint64_t size = 0;      ///< st_size
  std::uint64_t allocated = 0; ///< st_blocks * 512
};

/// Opens `path` for reading with this process's rights. Refuses what is not
/// an absolute path to a regular file, and says why (missing, unreadable,
/// a directory, a device...). Refuses, too, whatever the opened file
/// resolves to inside `layout`'s home but outside its images/: the
/// daemon's own secrets (state/, tls/) must never become a guest's disk.
Result<ImportSource> open_import_source(const std::string& path, const HomeLayout& layout);

enum class CopyMethod : std::uint8_t { none, reflink, sparse };
std::string_view to_string(CopyMethod method);

/// One file copied from `src` to `dst` (an empty file). First a reflink
/// (FICLONE: shares the extents, instant); where the file system cannot,
/// a sparse copy: only the data extents (SEEK_DATA/SEEK_HOLE) are read and
/// written, holes stay holes. step() copies at most `budget` bytes so the
/// caller can report progress between steps.
class FileCopy {
public:
  FileCopy(int src, int dst, std::uint64_t size, std::string shown);

  /// True once every byte is copied and `dst` is fsynced.
  Result<bool> step(std::uint64_t budget);
  std::uint64_t done() const { return done_; }
  std::uint64_t size() const { return size_; }
  CopyMethod method() const { return method_; }

private:
  int src_;
  int dst_;
  std::uint64_t size_;
  std::string shown_;
  std::uint64_t done_ = 0; ///< source offset reached (holes count as done)
  std::uint64_t extent_end_ = 0;
  CopyMethod method_ = CopyMethod::none;
  std::vector<char> buffer_;
};

/// Copies a whole file (tests, small files): `dst` must be an empty file.
Result<CopyMethod> copy_file(int src, int dst, std::uint64_t size, const std::string& shown);

/// What one import brings in: a role ("kernel", "initrd", "rootfs"), which
/// is also the file's name in the image's folder, and the opened source.
struct ImportItem {
  std::string role;
  ImportSource source;
};

class ImageImport {
public:
  /// Creates <home>/images/_imported/.partial-<id>/ (and _imported/ if
  /// needed) for `items`.
  static Result<std::unique_ptr<ImageImport>> begin(const HomeLayout& layout,
                                                    const std::string& image_id,
                                                    std::vector<ImportItem> items);
  ~ImageImport(); ///< removes the partial folder unless committed

  /// Copies at most `budget` bytes; true when all files are copied and the
  /// folder is renamed to <home>/images/_imported/<id>/.
  Result<bool> step(std::uint64_t budget);

  std::uint64_t bytes_done() const;
  std::uint64_t bytes_total() const;
  const std::string& current_role() const; ///< "" when done
  /// Where `role` lives once committed.
  std::filesystem::path final_path(const std::string& role) const;
  /// "reflink" or "sparse copy" per role, for logs and the CLI.
  std::string methods() const;

private:
  ImageImport() = default;
  Result<bool> commit();

  std::filesystem::path partial_;
  std::filesystem::path final_;
  std::vector<ImportItem> items_;
  std::vector<Fd> targets_;
  std::vector<std::unique_ptr<FileCopy>> copies_;
  std::size_t index_ = 0;
  std::uint64_t finished_bytes_ = 0;
  bool committed_ = false;
};

/// Removes what imports left behind: partial folders, and folders of ids
/// not in `known` (an import that committed its files but whose record was
/// never written). Returns the removed paths.
std::vector<std::string> sweep_imports(const HomeLayout& layout,
                                       const std::vector<std::string>& known);

/// Human sizes for messages: "512 B", "3.0 MiB", "1.50 GiB".
std::string format_bytes(std::uint64_t bytes);

} // namespace banger
