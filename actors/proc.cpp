#include "actors/proc.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace banger {

std::optional<std::uint64_t> process_start_time(int pid) {
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
  // last ')' are unambiguous. Field 3 is the state, field 22 the start time.
  char* rparen = std::strrchr(buffer, ')');
  if (!rparen || rparen[1] != ' ')
    return std::nullopt;
  char* cursor = rparen + 2;
  if (*cursor == 'Z' || *cursor == 'X')
    return std::nullopt;
  for (int field = 3; field < 22; ++field) {
    cursor = std::strchr(cursor, ' ');
    if (!cursor)
      return std::nullopt;
    ++cursor;
  }
  return std::strtoull(cursor, nullptr, 10);
}

bool same_process_alive(int pid, std::uint64_t start_time) {
  auto now = process_start_time(pid);
  return now && *now == start_time;
}

} // namespace banger
