#include "actors/proc.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace banger {

std::optional<ProcStat> read_proc_stat(int pid) {
  if (pid <= 0)
    return std::nullopt;
  auto path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  char buffer[1024];
  auto n = ::read(fd, buffer, sizeof(buffer) - 1);
  ::close(fd);
  if (n <= 0)
    return std::nullopt;
  buffer[n] = '\0';
  // The command name (field 2) may contain spaces and ')': fields after the
  // last ')' are unambiguous. Field 3 is the state.
  char* rparen = std::strrchr(buffer, ')');
  if (!rparen || rparen[1] != ' ')
    return std::nullopt;
  char* cursor = rparen + 2;
  if (*cursor == 'Z' || *cursor == 'X')
    return std::nullopt;
  ProcStat stat;
  for (int field = 3; field <= 24; ++field) {
    switch (field) {
      case 14: stat.utime = std::strtoull(cursor, nullptr, 10); break;
      case 15: stat.stime = std::strtoull(cursor, nullptr, 10); break;
      case 20: stat.num_threads = std::strtoull(cursor, nullptr, 10); break;
      case 22: stat.start_time = std::strtoull(cursor, nullptr, 10); break;
      case 23: stat.vsize = std::strtoull(cursor, nullptr, 10); break;
      case 24: stat.rss_pages = std::strtoull(cursor, nullptr, 10); break;
      default: break;
    }
    if (field == 24)
      break;
    cursor = std::strchr(cursor, ' ');
    if (!cursor)
      return std::nullopt;
    ++cursor;
  }
  return stat;
}

std::optional<std::uint64_t> process_start_time(int pid) {
  auto stat = read_proc_stat(pid);
  if (!stat)
    return std::nullopt;
  return stat->start_time;
}

bool same_process_alive(int pid, std::uint64_t start_time) {
  auto now = process_start_time(pid);
  return now && *now == start_time;
}

} // namespace banger
