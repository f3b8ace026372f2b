#include "actors/vmm_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace banger {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view line) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
    line.remove_prefix(1);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
    line.remove_suffix(1);
  return line;
}

/// Printable text only: a console may carry escape sequences and NULs.
std::string clean(std::string_view line) {
  std::string out;
  for (char c : line.substr(0, 300))
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = text.find_first_of("\r\n");
    auto line = trim(text.substr(0, end));
    if (!line.empty())
      lines.push_back(line);
    if (end == std::string_view::npos)
      break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

bool reports_error(std::string_view line) {
  // "panic:" and "kernel panic", not "panic=1" on a kernel command line
  // the VMM echoes. QEMU names why it cannot load a saved state in a line
  // of its own ("Size mismatch: microvm.ram: ...", "Not a migration
  // stream") before "load of migration failed".
  static constexpr std::array<std::string_view, 11> words{
    "error", "cannot", "can't", "could not", "failed", "panic:", "kernel panic", "fatal",
    "not supported", "mismatch", "not a migration stream"};
  auto text = lower(line);
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return text.find(w) != std::string::npos; });
}

} // namespace

std::uint64_t log_size(const std::string& path) {
  struct stat st{};
  if (path.empty() || ::stat(path.c_str(), &st) != 0)
    return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

std::string read_log_since(const std::string& path, std::uint64_t offset, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return {};
  std::string out;
  struct stat st{};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    auto size = static_cast<std::uint64_t>(st.st_size);
    // A log truncated since the launch: all of it is this launch's.
    auto from = offset > size ? 0 : offset;
    if (size - from > max_bytes)
      from = size - max_bytes;
    out.resize(size - from);
    auto got = ::pread(fd, out.data(), out.size(), static_cast<off_t>(from));
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  ::close(fd);
  return out;
}

std::string last_error_lines(std::string_view text, std::size_t max_lines) {
  auto lines = lines_of(text);
  std::vector<std::string_view> picked;
  for (auto it = lines.rbegin(); it != lines.rend() && picked.size() < max_lines; ++it)
    if (reports_error(*it))
      picked.push_back(*it);
  if (picked.empty())
    for (auto it = lines.rbegin(); it != lines.rend() && picked.size() < max_lines; ++it)
      picked.push_back(*it);
  std::string out;
  for (auto it = picked.rbegin(); it != picked.rend(); ++it)
    out += (out.empty() ? "" : "; ") + clean(*it);
  return out;
}

std::optional<std::string> guest_shutdown(std::string_view text) {
  // kernel/reboot.c prints these at emergency level, so they reach the
  // console whatever the guest's log level.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 3> marks{{
    {"reboot: Power down", "power off"},
    {"reboot: Restarting system", "reboot"},
    {"reboot: System halted", "halt"},
  }};
  std::optional<std::string> found;
  std::size_t at = 0;
  for (auto& [mark, what] : marks)
    if (auto pos = text.rfind(mark); pos != std::string_view::npos && (!found || pos > at)) {
      found = std::string(what);
      at = pos;
    }
  return found;
}

} // namespace banger
