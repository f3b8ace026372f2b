// Files the host writes into the guest (file_put) or reads from it
// (file_get). A write goes to a temporary file next to its target and
// replaces it only when every announced byte arrived and reached the disk:
// a transfer that fails leaves the old file, or none, never half of one.
#pragma once

#include "tools/guest-agent/session.hpp"

#include <memory>

namespace banger::guest {

class FilePutSession final : public Session {
public:
  /// nullptr (and error sent) when the temporary file cannot be made.
  static std::unique_ptr<FilePutSession> start(std::uint32_t channel, const agent::FilePut& put,
                                               Outbox& out);
  /// Removes the temporary file of a transfer that did not complete.
  ~FilePutSession() override;

  void on_frame(const agent::Frame& frame) override;
  void fill(PollSet&) override {}
  void handle(const PollSet&) override {}
  bool done() const override { return committed_ || failed_; }

private:
  FilePutSession(std::uint32_t channel, Outbox& out) : Session(channel, out) {}
  void fail_and_remove(const Failure& failure);
  void commit();

  std::string path_, temp_;
  mode_t mode_ = 0644;
  std::uint64_t size_ = 0, written_ = 0;
  Fd fd_;
  bool committed_ = false;
};

class FileGetSession final : public Session {
public:
  /// Answers file_info; nullptr (and error sent) when the file cannot be
  /// opened or is not a regular file.
  static std::unique_ptr<FileGetSession> start(std::uint32_t channel, const agent::FileGet& get,
                                               Outbox& out);

  void on_frame(const agent::Frame& frame) override;
  void fill(PollSet&) override {}
  void handle(const PollSet&) override;
  bool ready() const override;
  bool done() const override { return ended_ || failed_; }

private:
  FileGetSession(std::uint32_t channel, Outbox& out) : Session(channel, out) {}

  Fd fd_;
  std::uint64_t size_ = 0, sent_ = 0;
  SendWindow window_;
  bool ended_ = false;
};

/// Why `path` cannot be a file the host names: not absolute, a NUL byte.
std::optional<Failure> check_guest_path(const std::string& path);

} // namespace banger::guest
