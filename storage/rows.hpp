// Mapping between records and rows. Column order is fixed by the SELECT
// lists here; the store uses only these.
#pragma once

#include "messages/host_protocol.hpp"
#include "messages/records.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace SQLite {
class Database;
class Statement;
} // namespace SQLite

namespace banger::rows {

/// Prepared statements kept per SQL text: preparing an upsert costs more
/// than running it (SQLite's parser and code generator), so every write
/// statement is prepared once per connection. Must not outlive the database.
class Statements {
public:
  explicit Statements(SQLite::Database& db);
  ~Statements();
  Statements(const Statements&) = delete;
  Statements& operator=(const Statements&) = delete;

  /// The statement for `sql`, reset and with no bindings.
  SQLite::Statement& get(const std::string& sql);

  SQLite::Database& db() { return db_; }

private:
  SQLite::Database& db_;
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> cache_;
};

extern const char* const image_columns;
extern const char* const vm_columns;
extern const char* const operation_columns;
extern const char* const name_columns;
extern const char* const snapshot_columns;

Image read_image(SQLite::Statement& row);
VmRecord read_vm(SQLite::Statement& row);
OperationStatus read_operation(SQLite::Statement& row);
NameBinding read_name(SQLite::Statement& row);
/// A vm_snapshots row: the VM's id and the snapshot.
std::pair<std::string, SnapshotInfo> read_snapshot(SQLite::Statement& row);

void write_image(Statements& db, const Image& image);
/// The VM's row and its snapshot rows (write_snapshots).
void write_vm(Statements& db, const VmRecord& vm);
/// Makes the VM's snapshot rows exactly vm.snapshots.
void write_snapshots(Statements& db, const VmRecord& vm);
void write_operation(Statements& db, const OperationStatus& op);
void write_name(Statements& db, const NameBinding& name);

} // namespace banger::rows
