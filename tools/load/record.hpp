// --record FILE: one line per acknowledged create and per delete, written
// (and flushed) as the answers arrive, so the file is complete up to the
// moment the run ends or is killed. tools/chaos.sh compares it with what the
// daemon lists afterwards: a VM whose create was acknowledged must still be
// listed unless its delete was sent.
#pragma once

#include <fstream>
#include <mutex>
#include <string>

namespace banger::load {

class Record {
public:
  explicit Record(const std::string& path) : out_(path, std::ios::app) {}
  bool ok() const { return static_cast<bool>(out_); }

  /// "WHAT VM_ID [NAME] OP_ID"
  void line(const std::string& what, const std::string& id, const std::string& op_id,
            const std::string& name = {}) {
    std::lock_guard lock(mutex_);
    out_ << what << ' ' << id << ' ' << (name.empty() ? "" : name + " ") << op_id << '\n';
    out_.flush();
  }

private:
  std::mutex mutex_;
  std::ofstream out_;
};

} // namespace banger::load
