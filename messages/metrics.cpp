#include "messages/metrics.hpp"

#include <charconv>
#include <cmath>

namespace banger::metrics {

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

Family::Family(std::string name, Kind kind, std::string help, std::vector<double> buckets)
  : name_(std::move(name)), kind_(kind), help_(std::move(help)), buckets_(std::move(buckets)) {}

void Family::add(const Labels& labels, double by) {
  std::lock_guard lock{mu_};
  series_[labels].value += by;
}

void Family::set(const Labels& labels, double value) {
  std::lock_guard lock{mu_};
  series_[labels].value = value;
}

void Family::observe(const Labels& labels, double value) {
  std::lock_guard lock{mu_};
  auto& s = series_[labels];
  if (s.hits.empty())
    s.hits.assign(buckets_.size(), 0);
  s.value += value;
  ++s.count;
  for (std::size_t i = 0; i < buckets_.size(); ++i)
    if (value <= buckets_[i]) {
      ++s.hits[i];
      break;
    }
}

void Family::remove(const Labels& labels) {
  std::lock_guard lock{mu_};
  series_.erase(labels);
}

double Family::value(const Labels& labels) const {
  std::lock_guard lock{mu_};
  auto it = series_.find(labels);
  if (it == series_.end())
    return 0;
  return kind_ == Kind::histogram ? static_cast<double>(it->second.count) : it->second.value;
}

namespace {

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::counter:
      return "counter";
    case Kind::gauge:
      return "gauge";
    case Kind::histogram:
      return "histogram";
  }
  return "untyped";
}

void header(std::string& out, std::string_view name, Kind kind, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) { // help text escapes \ and newline only
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += kind_name(kind);
  out += '\n';
}

void sample(std::string& out, std::string_view name, const Labels& labels, double value,
            const std::pair<std::string, std::string>* extra = nullptr) {
  out += name;
  if (!labels.empty() || extra != nullptr) {
    out += '{';
    bool first = true;
    auto one = [&](const std::pair<std::string, std::string>& l) {
      if (!first)
        out += ',';
      first = false;
      out += l.first;
      out += "=\"";
      out += escape_label(l.second);
      out += '"';
    };
    for (auto& l : labels)
      one(l);
    if (extra != nullptr)
      one(*extra);
    out += '}';
  }
  out += ' ';
  out += format_value(value);
  out += '\n';
}

} // namespace

void Family::render(std::string& out) const {
  std::lock_guard lock{mu_};
  header(out, name_, kind_, help_);
  for (auto& [labels, s] : series_) {
    if (kind_ != Kind::histogram) {
      sample(out, name_, labels, s.value);
      continue;
    }
    std::uint64_t cumulative = 0;
    auto bucket = name_ + "_bucket";
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      cumulative += s.hits.empty() ? 0 : s.hits[i];
      std::pair<std::string, std::string> le{"le", format_value(buckets_[i])};
      sample(out, bucket, labels, static_cast<double>(cumulative), &le);
    }
    std::pair<std::string, std::string> inf{"le", "+Inf"};
    sample(out, bucket, labels, static_cast<double>(s.count), &inf);
    sample(out, name_ + "_sum", labels, s.value);
    sample(out, name_ + "_count", labels, static_cast<double>(s.count));
  }
}

void render(std::string& out, std::string_view name, Kind kind, std::string_view help,
            const std::vector<Sample>& samples) {
  header(out, name, kind, help);
  for (auto& s : samples)
    sample(out, name, s.labels, s.value);
}

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  char buf[512];
  // Plain decimals where they are short (bucket bounds such as 0.0001 read
  // as written); exponents only for the very small or large.
  auto magnitude = std::fabs(value);
  auto format = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15)
                  ? std::chars_format::fixed
                  : std::chars_format::general;
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, format);
  return ec == std::errc{} ? std::string(buf, end) : "NaN";
}

} // namespace banger::metrics
