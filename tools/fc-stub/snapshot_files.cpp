#include "tools/fc-stub/snapshot_files.hpp"

#include "tools/fc-stub/system.hpp"

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace banger::fc_stub {

namespace {

constexpr std::string_view magic = "fc-stub snapshot ";
// Firecracker's SNAPSHOT_VERSION: a file of another major version, or of a
// newer minor one, is refused.
constexpr std::uint64_t version_major = 10;
constexpr std::uint64_t version_minor = 0;
constexpr std::string_view version_text = "v10.0.0";
constexpr std::string_view crc_label = "crc64 ";
// Firecracker's SNAPSHOT_DESERIALIZATION_BYTES_LIMIT.
constexpr std::size_t state_size_limit = 10'000'000;
constexpr std::size_t memory_record_size = 128;

// CRC-64/XZ (ECMA-182 polynomial, reflected). Bit by bit: a state file is a
// few kilobytes.
std::uint64_t crc64(std::string_view data) {
  std::uint64_t crc = ~std::uint64_t{0};
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc >> 1) ^ (0xC96C5795D7870F42ULL & (0 - (crc & 1)));
  }
  return ~crc;
}

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, value);
  return text;
}

bool is_hex_id(const OrderedJson& value) {
  if (!value.is_string())
    return false;
  const std::string& text = value.get_ref<const std::string&>();
  return text.size() == 16 &&
         text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Parses "MAJOR.MINOR.PATCH".
bool parse_version(std::string_view text, std::uint64_t (&parts)[3]) {
  const char* cursor = text.data();
  const char* end = text.data() + text.size();
  for (int index = 0; index < 3; ++index) {
    auto [next, error] = std::from_chars(cursor, end, parts[index]);
    if (error != std::errc{})
      return false;
    cursor = next;
    if (index < 2) {
      if (cursor == end || *cursor != '.')
        return false;
      ++cursor;
    }
  }
  return cursor == end;
}

// The fields a load needs, with the types it needs them in; what serde would
// refuse when decoding Firecracker's MicrovmState.
std::optional<std::string> check_shape(const OrderedJson& state) {
  auto missing = [](std::string_view what) {
    return "An error occurred during bitcode serialization: fc-stub state "
           "has no valid `" +
           std::string(what) + "`";
  };
  if (!state.is_object())
    return missing("state object");
  const OrderedJson& machine = state.value("machine-config", OrderedJson());
  if (!machine.is_object() ||
      !machine.value("mem_size_mib", OrderedJson()).is_number_unsigned() ||
      !machine.value("vcpu_count", OrderedJson()).is_number_unsigned())
    return missing("machine-config");
  for (const char* list : {"drives", "network-interfaces"})
    if (!state.value(list, OrderedJson()).is_array())
      return missing(list);
  for (const OrderedJson& interface : state["network-interfaces"])
    if (!interface.is_object() ||
        !interface.value("iface_id", OrderedJson()).is_string() ||
        !interface.value("host_dev_name", OrderedJson()).is_string())
      return missing("network-interfaces");
  const OrderedJson& vsock = state.value("vsock", OrderedJson());
  if (!vsock.is_null() && (!vsock.is_object() ||
                           !vsock.value("uds_path", OrderedJson()).is_string()))
    return missing("vsock");
  const OrderedJson& guest = state.value("guest", OrderedJson());
  if (!guest.is_object() || !is_hex_id(guest.value("boot_id", OrderedJson())))
    return missing("guest");
  return std::nullopt;
}

// One MiB's record: a line, padded with NULs to a fixed size so that
// rewriting it leaves nothing of an older one behind.
std::string memory_record(const GuestMemory& guest, std::uint64_t mib,
                          std::uint64_t total) {
  char line[memory_record_size] = {};
  std::snprintf(line, sizeof line,
                "fc-stub guest memory boot=%s mib=%" PRIu64 "/%" PRIu64
                " uptime_ms=%" PRIu64 "\n",
                guest.boot_id.c_str(), mib, total, guest.uptime_ms);
  return std::string(line, sizeof line);
}

bool read_at(int descriptor, std::string& buffer, off_t offset) {
  ssize_t got = ::pread(descriptor, buffer.data(), buffer.size(), offset);
  if (got < 0)
    return false;
  buffer.resize(static_cast<std::size_t>(got));
  return true;
}

} // namespace

std::string new_boot_id() {
  std::uint64_t value = 0;
  // Eight bytes never block and are never short once the pool is ready.
  if (::getrandom(&value, sizeof value, 0) !=
      static_cast<ssize_t>(sizeof value))
    value = static_cast<std::uint64_t>(realtime_ns()) ^
            (static_cast<std::uint64_t>(::getpid()) << 32);
  return hex64(value);
}

std::string encode_state(const OrderedJson& state) {
  std::string text = std::string(magic) + std::string(version_text) + "\n" +
                     state.dump() + "\n";
  text += std::string(crc_label) + hex64(crc64(text)) + "\n";
  return text;
}

std::optional<std::string> decode_state(std::string_view contents,
                                        OrderedJson& state) {
  if (contents.size() > state_size_limit)
    return "Snapshot size exceeds limit of " +
           std::to_string(state_size_limit) + " bytes";
  if (contents.size() < 8)
    return std::string("IO Error: File too short to contain CRC");
  if (contents.substr(0, magic.size()) != magic) {
    // Firecracker reads its magic as a little-endian u64 and prints it.
    std::uint64_t read_magic = 0;
    for (int index = 7; index >= 0; --index)
      read_magic =
          (read_magic << 8) | static_cast<unsigned char>(contents[index]);
    return "Magic value does not match arch: " + std::to_string(read_magic);
  }
  std::size_t header_end = contents.find('\n');
  if (header_end == std::string_view::npos)
    return std::string("CRC64 validation failed");
  std::string_view version =
      contents.substr(magic.size(), header_end - magic.size());
  std::uint64_t parts[3] = {};
  if (version.empty() || version.front() != 'v' ||
      !parse_version(version.substr(1), parts))
    return "Invalid data version: " + std::string(version);
  if (parts[0] != version_major || parts[1] > version_minor)
    return "Invalid data version: " + std::string(version.substr(1));

  // The last line is the seal over everything before it.
  if (contents.back() != '\n')
    return std::string("CRC64 validation failed");
  std::size_t trailer = contents.rfind('\n', contents.size() - 2);
  if (trailer == std::string_view::npos || trailer < header_end)
    return std::string("CRC64 validation failed");
  std::string_view sealed = contents.substr(0, trailer + 1);
  std::string_view seal = contents.substr(trailer + 1);
  if (seal != std::string(crc_label) + hex64(crc64(sealed)) + "\n")
    return std::string("CRC64 validation failed");

  std::string_view body =
      contents.substr(header_end + 1, trailer - header_end - 1);
  state = OrderedJson::parse(body, nullptr, false);
  if (state.is_discarded())
    return std::string("An error occurred during bitcode serialization: "
                       "fc-stub state is not valid JSON");
  return check_shape(state);
}

std::optional<std::string> write_memory(const std::string& path,
                                        std::uint64_t memory_mib,
                                        const GuestMemory& guest) {
  int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (descriptor < 0)
    return "Cannot perform open on the memory backing file: " +
           io_error_text(errno);
  auto failed = [&](std::string text) {
    int error = errno;
    ::close(descriptor);
    return text + io_error_text(error);
  };
  // As Firecracker does, a file of the right size is overwritten in place
  // (every MiB's record is rewritten whole); one of another size is emptied
  // first, so nothing of an older guest shows through the holes.
  off_t size = static_cast<off_t>(memory_mib << 20);
  struct stat status {};
  if (::fstat(descriptor, &status) != 0)
    return failed("Cannot perform get_metadata on the memory backing file: ");
  if (status.st_size != size && ::ftruncate(descriptor, 0) != 0)
    return failed("Cannot perform truncate on the memory backing file: ");
  if (::ftruncate(descriptor, size) != 0)
    return failed("Cannot perform set_length on the memory backing file: ");
  for (std::uint64_t mib = 0; mib < memory_mib; ++mib) {
    std::string record = memory_record(guest, mib, memory_mib);
    if (::pwrite(descriptor, record.data(), record.size(),
                 static_cast<off_t>(mib << 20)) !=
        static_cast<ssize_t>(record.size()))
      return failed("Cannot write memory file: Cannot dump memory: ");
  }
  ::close(descriptor);
  return std::nullopt;
}

std::optional<std::string> read_memory(const std::string& path,
                                       std::uint64_t memory_mib,
                                       const std::string& boot_id,
                                       GuestMemory& guest) {
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0)
    return "Failed to load guest memory: " + io_error_text(errno);
  auto done = [&](std::optional<std::string> result) {
    ::close(descriptor);
    return result;
  };
  struct stat status {};
  if (::fstat(descriptor, &status) != 0)
    return done("Failed to restore guest memory: Cannot retrieve snapshot "
                "file metadata: " +
                io_error_text(errno));
  std::uint64_t expected = memory_mib << 20;
  std::uint64_t actual = static_cast<std::uint64_t>(status.st_size);
  if (actual < expected)
    return done(std::string("Failed to restore guest memory: Total sum of "
                            "memory regions exceeds largest possible file "
                            "offset"));
  // Firecracker maps a longer file without complaint; the stub's memory
  // file is written at exactly the guest's size, so anything else is not
  // the file that was saved.
  if (actual > expected)
    return done("Failed to restore guest memory: the memory file has " +
                std::to_string(actual) + " bytes, the snapshot's guest " +
                std::to_string(expected) + " (fc-stub)");
  auto foreign = [&](std::uint64_t mib) {
    return done("Failed to restore guest memory: MiB " + std::to_string(mib) +
                " of the memory file does not hold this snapshot's guest "
                "memory (fc-stub)");
  };
  std::string first(memory_record_size, '\0');
  if (!read_at(descriptor, first, 0))
    return done("Failed to load guest memory: " + io_error_text(errno));
  GuestMemory found{boot_id, 0};
  std::string prefix = memory_record(found, 0, memory_mib);
  prefix.erase(prefix.find(" uptime_ms=") + 11);
  if (first.compare(0, prefix.size(), prefix) != 0)
    return foreign(0);
  const char* digits = first.data() + prefix.size();
  auto [end, error] =
      std::from_chars(digits, first.data() + first.size(), found.uptime_ms);
  if (error != std::errc{} || first != memory_record(found, 0, memory_mib))
    return foreign(0);
  for (std::uint64_t mib = 1; mib < memory_mib; ++mib) {
    std::string wanted = memory_record(found, mib, memory_mib);
    std::string record(wanted.size(), '\0');
    if (!read_at(descriptor, record, static_cast<off_t>(mib << 20)))
      return done("Failed to load guest memory: " + io_error_text(errno));
    if (record != wanted)
      return foreign(mib);
  }
  guest = found;
  return done(std::nullopt);
}

} // namespace banger::fc_stub
