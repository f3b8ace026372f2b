#include "tools/guest-agent/file_session.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace banger::guest {

namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

std::optional<Failure> check_guest_path(const std::string& path) {
  if (path.empty() || path.front() != '/')
    return Failure{EINVAL, "the path must be absolute: " + path.substr(0, 256)};
  if (path.find('\0') != std::string::npos)
    return Failure{EINVAL, "the path holds a NUL byte"};
  if (path.back() == '/')
    return Failure{EISDIR, "the path names a directory: " + path};
  return std::nullopt;
}

// -- put ------------------------------------------------------------------------

std::unique_ptr<FilePutSession> FilePutSession::start(std::uint32_t channel,
                                                      const agent::FilePut& put, Outbox& out) {
  if (auto bad = check_guest_path(put.path)) {
    out.send_error(channel, *bad);
    return nullptr;
  }
  if (put.mode > 07777) {
    out.send_error(channel, Failure{EINVAL, "not a file mode: " + std::to_string(put.mode)});
    return nullptr;
  }
  std::unique_ptr<FilePutSession> s(new FilePutSession(channel, out));
  s->path_ = put.path;
  s->mode_ = static_cast<mode_t>(put.mode);
  s->size_ = put.size;
  // In the target's own directory, so the final rename stays on one file
  // system and is atomic; mkostemp opens it with O_EXCL.
  auto slash = put.path.rfind('/');
  std::string temp = parent_of(put.path) + "/." + put.path.substr(slash + 1) + ".banger-XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    out.send_error(channel, system_failure("creating a file next to " + put.path, errno));
    return nullptr;
  }
  s->fd_.reset(fd);
  s->temp_ = temp;
  return s;
}

FilePutSession::~FilePutSession() {
  if (!committed_ && !temp_.empty())
    ::unlink(temp_.c_str());
}

void FilePutSession::fail_and_remove(const Failure& failure) {
  fd_.reset();
  ::unlink(temp_.c_str());
  temp_.clear();
  fail(failure);
}

void FilePutSession::on_frame(const agent::Frame& frame) {
  switch (frame.type) {
  case agent::Type::file_data:
    if (frame.payload.size() > size_ - written_) {
      fail_and_remove(Failure{EFBIG, "more than the announced " + std::to_string(size_) +
                                         " bytes for " + path_});
      return;
    }
    if (!write_all(fd_.get(), frame.payload)) {
      fail_and_remove(system_failure("writing " + temp_, errno));
      return;
    }
    written_ += frame.payload.size();
    return;
  case agent::Type::file_end:
    commit();
    return;
  default:
    fail_and_remove(Failure{EINVAL, "unexpected " + std::string(agent::to_string(frame.type)) +
                                        " in a file transfer"});
  }
}

void FilePutSession::commit() {
  if (written_ != size_) {
    fail_and_remove(Failure{EINVAL, std::to_string(written_) + " bytes arrived for " + path_ +
                                        ", " + std::to_string(size_) + " were announced"});
    return;
  }
  // The mode is set on the descriptor, not left to the umask; fsync before
  // the rename so the new name never points at data not yet on disk.
  if (::fchmod(fd_.get(), mode_) != 0 || ::fsync(fd_.get()) != 0) {
    fail_and_remove(system_failure("writing " + temp_, errno));
    return;
  }
  fd_.reset();
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    fail_and_remove(system_failure("renaming to " + path_, errno));
    return;
  }
  committed_ = true;
  // And the directory, so the rename itself survives a crash.
  Fd dir(::open(parent_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir)
    ::fsync(dir.get());
  out_.send(agent::Frame{agent::Type::ok, channel_, {}});
}

// -- get ------------------------------------------------------------------------

std::unique_ptr<FileGetSession> FileGetSession::start(std::uint32_t channel,
                                                      const agent::FileGet& get, Outbox& out) {
  if (auto bad = check_guest_path(get.path)) {
    out.send_error(channel, *bad);
    return nullptr;
  }
  // O_NONBLOCK: opening a FIFO must not hang the agent; it is refused below.
  Fd fd(::open(get.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    out.send_error(channel, system_failure("opening " + get.path, errno));
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    out.send_error(channel, system_failure("stat " + get.path, errno));
    return nullptr;
  }
  if (!S_ISREG(st.st_mode)) {
    out.send_error(channel, Failure{static_cast<std::uint32_t>(S_ISDIR(st.st_mode) ? EISDIR : EINVAL),
                                    get.path + " is not a regular file"});
    return nullptr;
  }
  std::unique_ptr<FileGetSession> s(new FileGetSession(channel, out));
  s->fd_ = std::move(fd);
  s->size_ = static_cast<std::uint64_t>(st.st_size);
  out.send(agent::Type::file_info, channel,
           agent::FileInfo{s->size_, static_cast<std::uint32_t>(st.st_mode & 07777)});
  return s;
}

void FileGetSession::on_frame(const agent::Frame& frame) {
  if (frame.type == agent::Type::window) {
    auto window = agent::decode_window(frame.payload);
    if (!window) {
      fail(Failure{EINVAL, "malformed window"});
      return;
    }
    window_.grant(window->bytes);
    return;
  }
  fail(Failure{EINVAL, "unexpected " + std::string(agent::to_string(frame.type)) +
                           " in a file read"});
}

bool FileGetSession::ready() const {
  return !done() && out_.has_room() && (window_.available() > 0 || sent_ == size_);
}

void FileGetSession::handle(const PollSet&) {
  if (!ready())
    return;
  // What the file held when it was opened, no more: a file that grows
  // while it is read ends at its announced size, one that shrinks ends
  // early and the host sees the difference.
  std::uint64_t want = std::min<std::uint64_t>(window_.available(), size_ - sent_);
  want = std::min<std::uint64_t>(want, agent::max_payload);
  std::string chunk(want, '\0');
  ssize_t n = 0;
  if (want > 0) {
    n = ::read(fd_.get(), chunk.data(), want);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        return;
      fail(system_failure("reading a file", errno));
      return;
    }
  }
  if (n == 0) {
    out_.send(agent::Frame{agent::Type::file_end, channel_, {}});
    ended_ = true;
    return;
  }
  chunk.resize(static_cast<std::size_t>(n));
  sent_ += chunk.size();
  window_.take(chunk.size());
  out_.send(agent::Frame{agent::Type::file_data, channel_, std::move(chunk)});
}

} // namespace banger::guest
