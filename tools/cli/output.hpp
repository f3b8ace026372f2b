// What `banger` prints: human text and the stable `-o json` objects
// (schemas in docs/cli.md). CAF-free so formatting has fast unit tests.
#pragma once

#include "messages/errc.hpp"
#include "messages/cli_protocol.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace banger::cli {

/// Image id -> name, to show VMs' images by name.
using ImageNames = std::map<std::string, std::string>;

// -- JSON --------------------------------------------------------------------

nlohmann::json to_json(const VmRecord& vm);
nlohmann::json to_json(const Image& image);
nlohmann::json to_json(const OperationStatus& op);
nlohmann::json to_json(const DaemonStatus& status);
nlohmann::json to_json(const DoctorReport& report);
/// {"self", "hosts": [{"id", "address", "state", "since_us", "rtt_us", "vms",
/// "cpus_free", "memory_free_mib", "version"}]} (output_cluster.cpp).
nlohmann::json to_json(const ClusterStatus& status);
/// {"seq", "at_us", "type", "op_id", "vm_id", "vm_name", "state", "kind",
/// "stage", "outcome", "error": null or {code, message}, "duration_us"}
/// (docs/api.md, "Events").
nlohmann::json to_json(const Event& event);
/// One line for `banger events`: time, type, VM, and what happened.
std::string render_event(const Event& event);
/// Two-space indented JSON plus newline.
std::string dump(const nlohmann::json& j);

// -- text --------------------------------------------------------------------

/// Columns separated by two spaces, padded to the widest cell; the last
/// column is not padded. rows[0] is the header.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

/// "42s", "5m", "3h", "12d"; "-" when unknown.
std::string format_age(std::int64_t since_us, std::int64_t now_us);
/// Microseconds as milliseconds with 3 decimals: 12345 -> "12.345 ms".
std::string format_ms(std::int64_t us);
/// Unix microseconds as RFC 3339 UTC; "-" for 0.
std::string format_time(std::int64_t unix_us);

/// NAME ID STATE IMAGE IP CPUS MEMORY AGE, with HOST after ID when any VM
/// has a host (a cluster listing).
std::string render_vm_table(const std::vector<VmRecord>& vms, const ImageNames& images,
                            std::int64_t now_us);
/// The table of `list.vms` (in the order given), then, when hosts did not
/// answer, unreachable_warning's line (output_cluster.cpp).
std::string render_vm_list(const VmList& list, const ImageNames& images, std::int64_t now_us);
/// "warning: h3, h4 did not answer; their VMs show state unknown"; "" for none.
std::string unreachable_warning(const std::vector<std::string>& hosts);
/// HOST ADDRESS STATE SINCE RTT VMS CPUS-FREE MEM-FREE VERSION, this host
/// marked "(self)" (output_cluster.cpp).
std::string render_cluster_status(const ClusterStatus& status, std::int64_t now_us);
/// `key: value` lines with every field of the record.
std::string render_vm(const VmRecord& vm, const ImageNames& images);
std::string render_image_table(const std::vector<Image>& images, std::int64_t now_us);
std::string render_image(const Image& image);
std::string render_op(const OperationStatus& op);
std::string render_status(const DaemonStatus& status);
/// KIND OBJECT DETAIL FIXED, or "no findings".
std::string render_doctor(const DoctorReport& report);

} // namespace banger::cli
