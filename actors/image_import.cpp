#include "actors/image_import.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace banger {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t buffer_size = 1 << 20;
constexpr const char* partial_prefix = ".partial-";

Error refuse(const std::string& what) {
  return Error{Errc::invalid_argument, what};
}

Result<void> fsync_dir(const fs::path& dir) {
  Fd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd)
    return system_error("open", dir.string(), errno);
  if (::fsync(fd.get()) != 0)
    return system_error("fsync", dir.string(), errno);
  return {};
}

bool beneath(const fs::path& dir, const fs::path& path) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return d == dir.end() && p != path.end();
}

Result<void> make_dir(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
    return system_error("mkdir", dir.string(), errno);
  return {};
}

} // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::string_view to_string(CopyMethod method) {
  switch (method) {
    case CopyMethod::reflink:
      return "reflink";
    case CopyMethod::sparse:
      return "sparse copy";
    case CopyMethod::none:
      break;
  }
  return "none";
}

std::string format_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1024)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else if (bytes < (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

Result<ImportSource> open_import_source(const std::string& path, const HomeLayout& layout) {
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos)
    return refuse("not an absolute path: " + path);
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (!fd) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return refuse("no such file: " + path);
    if (err == EACCES || err == EPERM)
      return refuse("bangerd cannot read " + path + " (" + std::strerror(err)
                    + "): it reads image files with its own rights");
    return system_error("open", path, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return system_error("fstat", path, errno);
  if (!S_ISREG(st.st_mode))
    return refuse("not a regular file: " + path
                  + (S_ISDIR(st.st_mode) ? " (a directory)" : " (a device, FIFO or socket)"));
  if (st.st_size == 0)
    return refuse("empty file: " + path);
  // Where the open file really is, after every symlink and "..".
  std::error_code ec;
  auto real = fs::read_symlink("/proc/self/fd/" + std::to_string(fd.get()), ec);
  auto home = fs::weakly_canonical(layout.home(), ec);
  auto images = fs::weakly_canonical(layout.images_dir(), ec);
  if (real.empty() || (beneath(home, real) && !beneath(images, real)))
    return refuse(path + " is one of bangerd's own files (in " + layout.home().string()
                  + " but not in images/): never imported");
  ImportSource source;
  source.fd = std::move(fd);
  source.path = path;
  source.size = static_cast<std::uint64_t>(st.st_size);
  source.allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
  return source;
}

FileCopy::FileCopy(int src, int dst, std::uint64_t size, std::string shown)
    : src_(src), dst_(dst), size_(size), shown_(std::move(shown)) {}

Result<bool> FileCopy::step(std::uint64_t budget) {
  if (method_ == CopyMethod::none) {
    // Shares the source's extents where the file system can (btrfs, XFS
    // with reflink, bcachefs...). Any refusal (EOPNOTSUPP, EXDEV across
    // file systems, EINVAL) falls back to copying.
    if (::ioctl(dst_, FICLONE, src_) == 0) {
      method_ = CopyMethod::reflink;
      done_ = size_;
    } else {
      method_ = CopyMethod::sparse;
      // The size first: whatever is not written stays a hole.
      if (::ftruncate(dst_, static_cast<off_t>(size_)) != 0)
        return system_error("ftruncate", shown_, errno);
    }
  }
  std::uint64_t spent = 0;
  while (done_ < size_ && spent < budget) {
    if (done_ >= extent_end_) {
      auto data = ::lseek(src_, static_cast<off_t>(done_), SEEK_DATA);
      if (data < 0 && errno == ENXIO) { // only a hole up to the end
        done_ = size_;
        break;
      }
      if (data < 0)
        return system_error("lseek(SEEK_DATA)", shown_, errno);
      auto hole = ::lseek(src_, data, SEEK_HOLE);
      if (hole < 0)
        return system_error("lseek(SEEK_HOLE)", shown_, errno);
      done_ = std::min<std::uint64_t>(static_cast<std::uint64_t>(data), size_);
      extent_end_ = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), size_);
      continue;
    }
    if (buffer_.empty())
      buffer_.resize(buffer_size);
    auto want = std::min<std::uint64_t>({extent_end_ - done_, buffer_.size(), budget - spent});
    auto n = ::pread(src_, buffer_.data(), want, static_cast<off_t>(done_));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return system_error("read", shown_, errno);
    if (n == 0) // the source shrank while it was copied
      return Error{Errc::system, shown_ + " changed while it was imported (shorter than "
                                   + std::to_string(size_) + " bytes)"};
    for (ssize_t off = 0; off < n;) {
      auto w = ::pwrite(dst_, buffer_.data() + off, static_cast<std::size_t>(n - off),
                        static_cast<off_t>(done_) + off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return system_error("write", shown_, errno);
      off += w;
    }
    done_ += static_cast<std::uint64_t>(n);
    spent += static_cast<std::uint64_t>(n);
  }
  if (done_ < size_)
    return false;
  if (::fsync(dst_) != 0)
    return system_error("fsync", shown_, errno);
  return true;
}

Result<CopyMethod> copy_file(int src, int dst, std::uint64_t size, const std::string& shown) {
  FileCopy copy{src, dst, size, shown};
  for (;;) {
    auto finished = copy.step(UINT64_MAX);
    if (!finished)
      return std::move(finished).error();
    if (*finished)
      return copy.method();
  }
}

Result<std::unique_ptr<ImageImport>> ImageImport::begin(const HomeLayout& layout,
                                                         const std::string& image_id,
                                                         std::vector<ImportItem> items) {
  if (auto ok = make_dir(layout.imported_dir(), 0755); !ok)
    return std::move(ok).error();
  std::unique_ptr<ImageImport> job{new ImageImport};
  job->final_ = layout.image_import_dir(image_id);
  job->partial_ = layout.imported_dir() / (partial_prefix + image_id);
  if (::mkdir(job->partial_.c_str(), 0755) != 0)
    return system_error("mkdir", job->partial_.string(), errno);
  job->items_ = std::move(items);
  for (auto& item : job->items_) {
    auto path = job->partial_ / item.role;
    // 0644 like built images: the helper opens them as root, VMM users read.
    Fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    if (!fd)
      return system_error("open", path.string(), errno);
    job->copies_.push_back(std::make_unique<FileCopy>(item.source.fd.get(), fd.get(),
                                                      item.source.size, item.source.path));
    job->targets_.push_back(std::move(fd));
  }
  return job;
}

ImageImport::~ImageImport() {
  if (!committed_ && !partial_.empty()) {
    std::error_code ec;
    fs::remove_all(partial_, ec);
  }
}

Result<bool> ImageImport::step(std::uint64_t budget) {
  while (index_ < copies_.size()) {
    auto& copy = *copies_[index_];
    auto before = copy.done();
    auto finished = copy.step(budget);
    if (!finished)
      return std::move(finished).error();
    auto spent = copy.done() - before;
    budget = spent >= budget ? 0 : budget - spent;
    if (!*finished)
      return false;
    finished_bytes_ += copy.size();
    ++index_;
    if (budget == 0 && index_ < copies_.size())
      return false;
  }
  return commit();
}

Result<bool> ImageImport::commit() {
  if (committed_)
    return true;
  if (auto ok = fsync_dir(partial_); !ok)
    return std::move(ok).error();
  if (::rename(partial_.c_str(), final_.c_str()) != 0)
    return system_error("rename", final_.string(), errno);
  committed_ = true;
  if (auto ok = fsync_dir(final_.parent_path()); !ok)
    return std::move(ok).error();
  return true;
}

std::uint64_t ImageImport::bytes_done() const {
  return finished_bytes_ + (index_ < copies_.size() ? copies_[index_]->done() : 0);
}

std::uint64_t ImageImport::bytes_total() const {
  std::uint64_t total = 0;
  for (auto& item : items_)
    total += item.source.size;
  return total;
}

const std::string& ImageImport::current_role() const {
  static const std::string none;
  return index_ < items_.size() ? items_[index_].role : none;
}

fs::path ImageImport::final_path(const std::string& role) const {
  return final_ / role;
}

std::string ImageImport::methods() const {
  std::string out;
  for (std::size_t i = 0; i < items_.size(); ++i)
    out += (i ? ", " : "") + items_[i].role + ": " + std::string(to_string(copies_[i]->method()));
  return out;
}

std::vector<std::string> sweep_imports(const HomeLayout& layout,
                                       const std::vector<std::string>& known) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (auto it = fs::directory_iterator(layout.imported_dir(), ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    bool partial = name.rfind(partial_prefix, 0) == 0;
    if (!partial && std::find(known.begin(), known.end(), name) != known.end())
      continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
    if (!rm)
      removed.push_back(it->path().string());
  }
  return removed;
}

} // namespace banger
