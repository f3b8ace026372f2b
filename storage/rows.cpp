#include "storage/rows.hpp"

#include "messages/published_ports.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace banger::rows {

Statements::Statements(SQLite::Database& db) : db_(db) {}

Statements::~Statements() = default;

SQLite::Statement& Statements::get(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end())
    it = cache_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
  auto& st = *it->second;
  // tryReset: reset() would throw the previous run's error (a constraint
  // failure that was already reported) again.
  st.tryReset();
  st.clearBindings();
  return st;
}

const char* const image_columns =
  "id, name, kernel_path, initrd_path, rootfs_path, boot_args, created_at_us, ssh";

const char* const vm_columns =
  "id, name, image_id, cpus, memory_mib, created_at_us, updated_at_us, state, "
  "stage, pid, pid_start_time, api_socket, vsock_path, vsock_cid, guest_ip, "
  "mac, tap, rootfs_path, vm_dir, log_path, last_error, last_stop, "
  "boot_vmm_spawned_us, boot_configured_us, boot_instance_started_us, "
  "boot_guest_ready_us, saved_state_path, saved_memory_path, saved_size, "
  "saved_checksum, saved_at_us, saved_vmm, ports";

const char* const snapshot_columns =
  "vm_id, name, created_at_us, from_state, disk_path, disk_size, state_path, "
  "memory_path, size, checksum, saved_at_us, vmm, op_id";

const char* const operation_columns =
  "op_id, kind, vm_id, stage, stages_done, stages_total, outcome, error_code, "
  "error_message, started_at_us, finished_at_us";

const char* const name_columns = "name, host, vm_id, op_id, bound, expires_at_us";

Image read_image(SQLite::Statement& row) {
  Image x;
  x.id = row.getColumn(0).getString();
  x.name = row.getColumn(1).getString();
  x.kernel_path = row.getColumn(2).getString();
  x.initrd_path = row.getColumn(3).getString();
  x.rootfs_path = row.getColumn(4).getString();
  x.boot_args = row.getColumn(5).getString();
  x.created_at_us = row.getColumn(6).getInt64();
  x.ssh = row.getColumn(7).getInt() != 0;
  return x;
}

VmRecord read_vm(SQLite::Statement& row) {
  VmRecord x;
  int i = 0;
  auto text = [&] { return row.getColumn(i++).getString(); };
  auto i64 = [&] { return row.getColumn(i++).getInt64(); };
  x.id = text();
  x.name = text();
  x.image_id = text();
  x.cpus = static_cast<std::uint32_t>(i64());
  x.memory_mib = static_cast<std::uint32_t>(i64());
  x.created_at_us = i64();
  x.updated_at_us = i64();
  auto& rt = x.runtime;
  // The CHECK constraint guarantees a known name.
  rt.state = vm_state_from_string(text()).value_or(VmState::error);
  rt.stage = text();
  rt.pid = static_cast<std::int32_t>(i64());
  rt.pid_start_time = static_cast<std::uint64_t>(i64());
  rt.api_socket = text();
  rt.vsock_path = text();
  rt.vsock_cid = static_cast<std::uint32_t>(i64());
  rt.guest_ip = text();
  rt.mac = text();
  rt.tap = text();
  rt.rootfs_path = text();
  rt.vm_dir = text();
  rt.log_path = text();
  rt.last_error = text();
  rt.last_stop = stop_rung_from_string(text()).value_or(StopRung::none);
  rt.boot.vmm_spawned_us = i64();
  rt.boot.configured_us = i64();
  rt.boot.instance_started_us = i64();
  rt.boot.guest_ready_us = i64();
  rt.saved.state_path = text();
  rt.saved.memory_path = text();
  rt.saved.size = static_cast<std::uint64_t>(i64());
  rt.saved.checksum = text();
  rt.saved.saved_at_us = i64();
  rt.saved.vmm = text();
  // Written by format_port_mappings only; anything else (a hand-edited
  // database) publishes nothing rather than something unchecked.
  if (auto ports = parse_port_mappings(text()))
    x.ports = std::move(*ports);
  return x;
}

std::pair<std::string, SnapshotInfo> read_snapshot(SQLite::Statement& row) {
  SnapshotInfo x;
  int i = 0;
  auto text = [&] { return row.getColumn(i++).getString(); };
  auto i64 = [&] { return row.getColumn(i++).getInt64(); };
  auto vm_id = text();
  x.name = text();
  x.created_at_us = i64();
  x.from = vm_state_from_string(text()).value_or(VmState::stopped);
  x.disk_path = text();
  x.disk_size = static_cast<std::uint64_t>(i64());
  x.memory.state_path = text();
  x.memory.memory_path = text();
  x.memory.size = static_cast<std::uint64_t>(i64());
  x.memory.checksum = text();
  x.memory.saved_at_us = i64();
  x.memory.vmm = text();
  x.op_id = text();
  return {std::move(vm_id), std::move(x)};
}

OperationStatus read_operation(SQLite::Statement& row) {
  OperationStatus x;
  x.op_id = row.getColumn(0).getString();
  x.kind = row.getColumn(1).getString();
  x.vm_id = row.getColumn(2).getString();
  x.stage = row.getColumn(3).getString();
  x.stages_done = static_cast<std::uint32_t>(row.getColumn(4).getInt64());
  x.stages_total = static_cast<std::uint32_t>(row.getColumn(5).getInt64());
  x.outcome = outcome_from_string(row.getColumn(6).getString())
                .value_or(OperationOutcome::failed);
  x.error_code = static_cast<std::uint8_t>(row.getColumn(7).getInt());
  x.error_message = row.getColumn(8).getString();
  x.started_at_us = row.getColumn(9).getInt64();
  x.finished_at_us = row.getColumn(10).getInt64();
  return x;
}

void write_image(Statements& db, const Image& x) {
  static const std::string statement = std::string("INSERT INTO images (") + image_columns
                             + ") VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                               "name=excluded.name, kernel_path=excluded.kernel_path, "
                               "initrd_path=excluded.initrd_path, "
                               "rootfs_path=excluded.rootfs_path, "
                               "boot_args=excluded.boot_args, ssh=excluded.ssh";
  auto& st = db.get(statement);
  st.bind(1, x.id);
  st.bind(2, x.name);
  st.bind(3, x.kernel_path);
  st.bind(4, x.initrd_path);
  st.bind(5, x.rootfs_path);
  st.bind(6, x.boot_args);
  st.bind(7, static_cast<int64_t>(x.created_at_us));
  st.bind(8, x.ssh ? 1 : 0);
  st.exec();
}

void write_vm(Statements& db, const VmRecord& x) {
  // ON CONFLICT(id) only: a clash on name, guest IP, MAC or CID with another
  // VM must fail, never replace that VM's row (INSERT OR REPLACE would).
  static const std::string statement = [] {
    std::string columns = vm_columns;
    std::string s = "INSERT INTO vms (" + columns + ") VALUES (?";
    for (auto c : columns)
      if (c == ',')
        s += ",?";
    s += ") ON CONFLICT(id) DO UPDATE SET ";
    bool first = true;
    std::size_t pos = 0;
    while (pos < columns.size()) {
      auto end = columns.find(',', pos);
      if (end == std::string::npos)
        end = columns.size();
      auto name = columns.substr(pos, end - pos);
      name.erase(0, name.find_first_not_of(' '));
      pos = end + 1;
      if (name == "id" || name == "created_at_us")
        continue;
      s += (first ? "" : ", ") + name + "=excluded." + name;
      first = false;
    }
    return s;
  }();
  auto& st = db.get(statement);
  const auto& rt = x.runtime;
  int i = 1;
  auto bind_text = [&](const std::string& v) { st.bind(i++, v); };
  auto bind_int = [&](int64_t v) { st.bind(i++, v); };
  bind_text(x.id);
  bind_text(x.name);
  bind_text(x.image_id);
  bind_int(x.cpus);
  bind_int(x.memory_mib);
  bind_int(x.created_at_us);
  bind_int(x.updated_at_us);
  bind_text(std::string(to_string(rt.state)));
  bind_text(rt.stage);
  bind_int(rt.pid);
  bind_int(static_cast<int64_t>(rt.pid_start_time));
  bind_text(rt.api_socket);
  bind_text(rt.vsock_path);
  bind_int(rt.vsock_cid);
  bind_text(rt.guest_ip);
  bind_text(rt.mac);
  bind_text(rt.tap);
  bind_text(rt.rootfs_path);
  bind_text(rt.vm_dir);
  bind_text(rt.log_path);
  bind_text(rt.last_error);
  bind_text(std::string(to_string(rt.last_stop)));
  bind_int(rt.boot.vmm_spawned_us);
  bind_int(rt.boot.configured_us);
  bind_int(rt.boot.instance_started_us);
  bind_int(rt.boot.guest_ready_us);
  bind_text(rt.saved.state_path);
  bind_text(rt.saved.memory_path);
  bind_int(static_cast<int64_t>(rt.saved.size));
  bind_text(rt.saved.checksum);
  bind_int(rt.saved.saved_at_us);
  bind_text(rt.saved.vmm);
  bind_text(format_port_mappings(x.ports));
  st.exec();
  write_snapshots(db, x);
}

void write_snapshots(Statements& db, const VmRecord& x) {
  // The record's list is the truth: rows it no longer names go. A VM
  // without snapshots costs one indexed DELETE that finds nothing.
  auto& clear = db.get("DELETE FROM vm_snapshots WHERE vm_id = ?");
  clear.bind(1, x.id);
  clear.exec();
  static const std::string statement = std::string("INSERT INTO vm_snapshots (")
                                       + snapshot_columns
                                       + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
  for (const auto& snap : x.snapshots) {
    auto& st = db.get(statement);
    int i = 1;
    st.bind(i++, x.id);
    st.bind(i++, snap.name);
    st.bind(i++, static_cast<int64_t>(snap.created_at_us));
    st.bind(i++, std::string(to_string(snap.from)));
    st.bind(i++, snap.disk_path);
    st.bind(i++, static_cast<int64_t>(snap.disk_size));
    st.bind(i++, snap.memory.state_path);
    st.bind(i++, snap.memory.memory_path);
    st.bind(i++, static_cast<int64_t>(snap.memory.size));
    st.bind(i++, snap.memory.checksum);
    st.bind(i++, static_cast<int64_t>(snap.memory.saved_at_us));
    st.bind(i++, snap.memory.vmm);
    st.bind(i++, snap.op_id);
    st.exec();
  }
}

void write_operation(Statements& db, const OperationStatus& x) {
  static const std::string statement =
    std::string("INSERT INTO operations (") + operation_columns
          + ") VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(op_id) DO UPDATE SET "
            "kind=excluded.kind, vm_id=excluded.vm_id, stage=excluded.stage, "
            "stages_done=excluded.stages_done, stages_total=excluded.stages_total, "
            "outcome=excluded.outcome, error_code=excluded.error_code, "
            "error_message=excluded.error_message, "
            "finished_at_us=excluded.finished_at_us";
  auto& st = db.get(statement);
  st.bind(1, x.op_id);
  st.bind(2, x.kind);
  st.bind(3, x.vm_id);
  st.bind(4, x.stage);
  st.bind(5, static_cast<int64_t>(x.stages_done));
  st.bind(6, static_cast<int64_t>(x.stages_total));
  st.bind(7, std::string(to_string(x.outcome)));
  st.bind(8, static_cast<int>(x.error_code));
  st.bind(9, x.error_message);
  st.bind(10, static_cast<int64_t>(x.started_at_us));
  st.bind(11, static_cast<int64_t>(x.finished_at_us));
  st.exec();
  auto& clear = db.get("DELETE FROM operation_stages WHERE op_id = ?");
  clear.bind(1, x.op_id);
  clear.exec();
  auto& stage = db.get("INSERT INTO operation_stages (op_id, seq, name, "
                       "started_at_us, duration_us, ok) VALUES (?,?,?,?,?,?)");
  int seq = 0;
  for (const auto& s : x.stages) {
    stage.bind(1, x.op_id);
    stage.bind(2, seq++);
    stage.bind(3, s.name);
    stage.bind(4, static_cast<int64_t>(s.started_at_us));
    stage.bind(5, static_cast<int64_t>(s.duration_us));
    stage.bind(6, s.ok ? 1 : 0);
    stage.exec();
    stage.reset();
    stage.clearBindings();
  }
}

NameBinding read_name(SQLite::Statement& row) {
  NameBinding x;
  x.name = row.getColumn(0).getString();
  x.host = row.getColumn(1).getString();
  x.vm_id = row.getColumn(2).getString();
  x.op_id = row.getColumn(3).getString();
  x.bound = row.getColumn(4).getInt() != 0;
  x.expires_at_us = row.getColumn(5).getInt64();
  return x;
}

void write_name(Statements& db, const NameBinding& x) {
  static const std::string statement =
    std::string("INSERT INTO cluster_names (") + name_columns
    + ") VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET host=excluded.host, "
      "vm_id=excluded.vm_id, op_id=excluded.op_id, bound=excluded.bound, "
      "expires_at_us=excluded.expires_at_us";
  auto& st = db.get(statement);
  st.bind(1, x.name);
  st.bind(2, x.host);
  st.bind(3, x.vm_id);
  st.bind(4, x.op_id);
  st.bind(5, x.bound ? 1 : 0);
  st.bind(6, static_cast<int64_t>(x.expires_at_us));
  st.exec();
}

} // namespace banger::rows
