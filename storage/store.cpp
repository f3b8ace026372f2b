#include "storage/store.hpp"

#include "storage/rows.hpp"
#include "storage/schema.hpp"


#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sqlite3.h>

#include <unordered_map>

namespace banger {

namespace {

constexpr int busy_timeout_ms = 5000;

// Turns SQLite's constraint messages ("UNIQUE constraint failed: vms.name")
// into errors a user can act on.
Error constraint_error(const SQLite::Exception& e, const std::string& subject) {
  std::string what = e.what();
  auto has = [&](std::string_view s) { return what.find(s) != std::string::npos; };
  // ON DELETE RESTRICT reports SQLITE_CONSTRAINT_TRIGGER, not _FOREIGNKEY.
  int code = has("FOREIGN KEY constraint failed") ? SQLITE_CONSTRAINT_FOREIGNKEY
                                                  : e.getExtendedErrorCode();
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: {
      std::string field = "id";
      if (has(".name"))
        field = "name";
      else if (has("vms.guest_ip"))
        field = "guest IP";
      else if (has("vms.vsock_cid"))
        field = "vsock CID";
      else if (has("vms.mac"))
        field = "MAC address";
      return Error{Errc::already_exists,
                   subject + ": " + field + " is already in use (" + what + ")"};
    }
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error{Errc::conflict, subject + ": still referenced, or refers to "
                                             "something that does not exist ("
                                     + what + ")"};
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return Error{Errc::invalid_argument, subject + ": value out of range (" + what + ")"};
    default:
      return Error{Errc::storage, subject + ": " + what};
  }
}

Error storage_error(const std::exception& e, const std::string& subject) {
  if (auto sqlite = dynamic_cast<const SQLite::Exception*>(&e);
      sqlite && sqlite->getErrorCode() == SQLITE_CONSTRAINT)
    return constraint_error(*sqlite, subject);
  return Error{Errc::storage, subject + ": " + e.what()};
}

// Runs `body`, converting any exception into an Error naming `subject`.
template <class F>
auto guarded(const std::string& subject, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return storage_error(e, subject);
  }
}

std::vector<StageRecord> read_stages(SQLite::Database& db, const std::string& op_id) {
  std::vector<StageRecord> out;
  SQLite::Statement st(db, "SELECT name, started_at_us, duration_us, ok FROM "
                           "operation_stages WHERE op_id = ? ORDER BY seq");
  st.bind(1, op_id);
  while (st.executeStep())
    out.push_back(StageRecord{st.getColumn(0).getString(), st.getColumn(1).getInt64(),
                              st.getColumn(2).getInt64(), st.getColumn(3).getInt() != 0});
  return out;
}

} // namespace

Store::Store(std::unique_ptr<SQLite::Database> db)
  : db_(std::move(db)), statements_(std::make_unique<rows::Statements>(*db_)) {}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& file) {
  try {
    auto db = std::make_unique<SQLite::Database>(
      file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, busy_timeout_ms);
    // WAL: readers never block the writer. synchronous=FULL: a commit is on
    // disk before we reply that it happened (group commit amortizes fsync).
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = FULL");
    db->exec("PRAGMA foreign_keys = ON");
    if (auto migrated = schema::migrate(*db, schema_version); !migrated)
      return std::move(migrated).error();
    return std::unique_ptr<Store>(new Store(std::move(db)));
  } catch (const std::exception& e) {
    return Error{Errc::storage, "cannot open database " + file.string() + ": " + e.what()};
  }
}

Result<int> Store::user_version() {
  return guarded("user_version", [&]() -> Result<int> {
    return db_->execAndGet("PRAGMA user_version").getInt();
  });
}

// -- images ---------------------------------------------------------------------

Status Store::upsert_image(const Image& image) {
  return guarded("image " + image.name, [&]() -> Status {
    rows::write_image(*statements_, image);
    return {};
  });
}

Result<Image> Store::get_image(const std::string& id) {
  return guarded("image " + id, [&]() -> Result<Image> {
    SQLite::Statement st(*db_, std::string("SELECT ") + rows::image_columns
                                 + " FROM images WHERE id = ?");
    st.bind(1, id);
    if (!st.executeStep())
      return Error{Errc::not_found, "no image with id " + id};
    return rows::read_image(st);
  });
}

Result<std::vector<Image>> Store::list_images() {
  return guarded("images", [&]() -> Result<std::vector<Image>> {
    std::vector<Image> out;
    SQLite::Statement st(*db_, std::string("SELECT ") + rows::image_columns
                                 + " FROM images ORDER BY name");
    while (st.executeStep())
      out.push_back(rows::read_image(st));
    return out;
  });
}

Status Store::delete_image(const std::string& id) {
  return guarded("image " + id, [&]() -> Status {
    auto& st = statements_->get("DELETE FROM images WHERE id = ?");
    st.bind(1, id);
    if (st.exec() == 0)
      return Error{Errc::not_found, "no image with id " + id};
    return {};
  });
}

// -- VMs -------------------------------------------------------------------------

Status Store::upsert_vm(const VmRecord& vm) {
  return guarded("vm " + vm.name, [&]() -> Status {
    rows::write_vm(*statements_, vm);
    return {};
  });
}

Result<VmRecord> Store::get_vm(const std::string& id) {
  return guarded("vm " + id, [&]() -> Result<VmRecord> {
    SQLite::Statement st(*db_, std::string("SELECT ") + rows::vm_columns
                                 + " FROM vms WHERE id = ?");
    st.bind(1, id);
    if (!st.executeStep())
      return Error{Errc::not_found, "no VM with id " + id};
    auto vm = rows::read_vm(st);
    SQLite::Statement snaps(*db_, std::string("SELECT ") + rows::snapshot_columns
                                    + " FROM vm_snapshots WHERE vm_id = ? ORDER BY created_at_us, name");
    snaps.bind(1, id);
    while (snaps.executeStep())
      vm.snapshots.push_back(rows::read_snapshot(snaps).second);
    return vm;
  });
}

Result<std::vector<VmRecord>> Store::list_vms() {
  return guarded("vms", [&]() -> Result<std::vector<VmRecord>> {
    std::vector<VmRecord> out;
    SQLite::Statement st(*db_, std::string("SELECT ") + rows::vm_columns
                                 + " FROM vms ORDER BY name");
    std::unordered_map<std::string, std::size_t> index;
    while (st.executeStep()) {
      out.push_back(rows::read_vm(st));
      index.emplace(out.back().id, out.size() - 1);
    }
    SQLite::Statement snaps(*db_, std::string("SELECT ") + rows::snapshot_columns
                                    + " FROM vm_snapshots ORDER BY created_at_us, name");
    while (snaps.executeStep()) {
      auto [vm_id, snap] = rows::read_snapshot(snaps);
      if (auto it = index.find(vm_id); it != index.end())
        out[it->second].snapshots.push_back(std::move(snap));
    }
    return out;
  });
}

Status Store::delete_vm(const std::string& id) {
  return guarded("vm " + id, [&]() -> Status {
    auto& st = statements_->get("DELETE FROM vms WHERE id = ?");
    st.bind(1, id);
    if (st.exec() == 0)
      return Error{Errc::not_found, "no VM with id " + id};
    return {};
  });
}

// -- operations --------------------------------------------------------------------

Status Store::upsert_operation(const OperationStatus& op) {
  return guarded("operation " + op.op_id, [&]() -> Status {
    SQLite::Transaction tx(*db_);
    rows::write_operation(*statements_, op);
    tx.commit();
    return {};
  });
}

Result<OperationStatus> Store::get_operation(const std::string& op_id) {
  return guarded("operation " + op_id, [&]() -> Result<OperationStatus> {
    SQLite::Statement st(*db_, std::string("SELECT ") + rows::operation_columns
                                 + " FROM operations WHERE op_id = ?");
    st.bind(1, op_id);
    if (!st.executeStep())
      return Error{Errc::not_found, "no operation " + op_id};
    auto op = rows::read_operation(st);
    op.stages = read_stages(*db_, op_id);
    return op;
  });
}

Result<int> Store::fail_running_operations(const std::string& message, std::int64_t now_us) {
  return guarded("operations", [&]() -> Result<int> {
    SQLite::Transaction tx(*db_);
    SQLite::Statement stages(*db_, "UPDATE operation_stages SET duration_us = "
                                   "MAX(0, ? - started_at_us), ok = 0 WHERE duration_us < 0 "
                                   "AND op_id IN (SELECT op_id FROM operations "
                                   "WHERE outcome = 'running')");
    stages.bind(1, static_cast<std::int64_t>(now_us));
    stages.exec();
    SQLite::Statement ops(*db_, "UPDATE operations SET outcome = 'failed', error_code = ?, "
                                "error_message = ?, finished_at_us = ? "
                                "WHERE outcome = 'running'");
    ops.bind(1, static_cast<int>(Errc::internal));
    ops.bind(2, message);
    ops.bind(3, static_cast<std::int64_t>(now_us));
    int failed = ops.exec();
    tx.commit();
    return failed;
  });
}

// -- cluster names -------------------------------------------------------------------

Status Store::upsert_name(const NameBinding& name) {
  return guarded("name " + name.name, [&]() -> Status {
    rows::write_name(*statements_, name);
    return {};
  });
}

Status Store::erase_name(const std::string& name) {
  return guarded("name " + name, [&]() -> Status {
    auto& st = statements_->get("DELETE FROM cluster_names WHERE name = ?");
    st.bind(1, name);
    st.exec();
    return {};
  });
}

Result<std::vector<NameBinding>> Store::list_names() {
  return guarded("names", [&]() -> Result<std::vector<NameBinding>> {
    std::vector<NameBinding> out;
    SQLite::Statement st(*db_, std::string("SELECT ") + rows::name_columns
                                 + " FROM cluster_names ORDER BY name");
    while (st.executeStep())
      out.push_back(rows::read_name(st));
    return out;
  });
}

// -- group commit -------------------------------------------------------------------

Status Store::write_one(const Write& write) {
  struct Visitor {
    Store& self;
    Status operator()(const UpsertImage& w) { return self.upsert_image(w.image); }
    Status operator()(const DeleteImage& w) { return self.delete_image(w.id); }
    Status operator()(const UpsertVm& w) { return self.upsert_vm(w.vm); }
    Status operator()(const DeleteVm& w) { return self.delete_vm(w.id); }
    Status operator()(const UpsertOperation& w) {
      return guarded("operation " + w.operation.op_id, [&]() -> Status {
        rows::write_operation(*self.statements_, w.operation);
        return {};
      });
    }
    Status operator()(const UpsertName& w) { return self.upsert_name(w.name); }
    Status operator()(const EraseName& w) { return self.erase_name(w.name); }
  };
  return std::visit(Visitor{*this}, write);
}

std::vector<Status> Store::apply(const std::vector<Write>& writes) {
  std::vector<std::vector<Write>> groups;
  groups.reserve(writes.size());
  for (const auto& write : writes)
    groups.push_back({write});
  return apply_groups(groups);
}

std::vector<Status> Store::apply_groups(const std::vector<std::vector<Write>>& groups) {
  std::vector<Status> results;
  results.reserve(groups.size());
  try {
    SQLite::Transaction tx(*db_);
    for (const auto& group : groups) {
      statements_->get("SAVEPOINT write").exec();
      Status status;
      for (const auto& write : group) {
        status = write_one(write);
        if (!status)
          break;
      }
      if (!status)
        statements_->get("ROLLBACK TO write").exec();
      statements_->get("RELEASE write").exec();
      results.push_back(std::move(status));
    }
    tx.commit();
  } catch (const std::exception& e) {
    Error failure{Errc::storage, std::string("commit failed: ") + e.what()};
    results.assign(groups.size(), Status{failure});
  }
  return results;
}

} // namespace banger
