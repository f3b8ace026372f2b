#include "messages/oplog.hpp"

namespace banger {

OpLog OpLog::begin(const log::Logger& logger, std::string op, std::string op_id,
                   log::Attrs attrs) {
  return OpLog{logger, std::move(op), std::move(op_id), std::move(attrs)};
}

OpLog::OpLog(const log::Logger& logger, std::string op, std::string op_id, log::Attrs attrs)
  : logger_(&logger),
    op_(std::move(op)),
    op_id_(std::move(op_id)),
    base_(std::move(attrs)),
    started_(std::chrono::steady_clock::now()) {
  base_.insert(base_.begin(), log::Attr{"op_id", op_id_});
  base_.insert(base_.begin(), log::Attr{"op", op_});
  logger_->info("operation started", base_);
}

OpLog::OpLog(OpLog&& other) noexcept
  : logger_(other.logger_),
    op_(std::move(other.op_)),
    op_id_(std::move(other.op_id_)),
    base_(std::move(other.base_)),
    stage_(std::move(other.stage_)),
    started_(other.started_),
    finished_(other.finished_) {
  other.finished_ = true;
}

OpLog::~OpLog() {
  if (!finished_)
    fail(Errc::internal, "abandoned without an outcome");
}

std::int64_t OpLog::elapsed_us() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now() - started_).count();
}

log::Attrs OpLog::with_base(const log::Attrs& extra) const {
  log::Attrs out = base_;
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

void OpLog::add(log::Attr attr) {
  base_.push_back(std::move(attr));
}

void OpLog::stage(std::string_view name, const log::Attrs& attrs) {
  stage_ = std::string(name);
  auto line = with_base(attrs);
  line.emplace_back("stage", stage_);
  line.emplace_back("elapsed_ms", log::Millis{elapsed_us()});
  logger_->info("stage", line);
}

void OpLog::done(const log::Attrs& attrs) {
  if (finished_)
    return;
  finished_ = true;
  auto line = with_base(attrs);
  line.emplace_back("duration_ms", log::Millis{elapsed_us()});
  logger_->info("operation completed", line);
}

void OpLog::fail(Errc code, std::string_view message, const log::Attrs& attrs) {
  if (finished_)
    return;
  finished_ = true;
  auto line = with_base(attrs);
  if (!stage_.empty())
    line.emplace_back("stage", stage_);
  line.emplace_back("duration_ms", log::Millis{elapsed_us()});
  line.emplace_back("error_code", to_string(code));
  line.emplace_back("error", message);
  logger_->error("operation failed", line);
}

} // namespace banger
