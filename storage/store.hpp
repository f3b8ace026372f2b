// The SQLite store: images, VMs, operations and the cluster names this host
// owns, durable before any reply that
// reports them. SQLiteCpp's exceptions stop in this folder: every call returns
// a Result. Not thread-safe: in bangerd one store actor owns the instance.
#pragma once

#include "messages/host_protocol.hpp"
#include "messages/records.hpp"
#include "messages/result.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace SQLite {
class Database;
} // namespace SQLite

namespace banger::rows {
class Statements;
} // namespace banger::rows

namespace banger {

/// One write of a batch; see Store::apply.
struct UpsertImage {
  Image image;
};
struct DeleteImage {
  std::string id;
};
struct UpsertVm {
  VmRecord vm;
};
struct DeleteVm {
  std::string id;
};
struct UpsertOperation {
  OperationStatus operation;
};
struct UpsertName {
  NameBinding name;
};
/// Erasing a name that is not there is no error: the owner's table
/// (cluster/name_table.hpp) says what must be gone, not what is.
struct EraseName {
  std::string name;
};
using Write = std::variant<UpsertImage, DeleteImage, UpsertVm, DeleteVm, UpsertOperation,
                           UpsertName, EraseName>;

class Store {
public:
  /// Current schema version (PRAGMA user_version after all migrations).
  static constexpr int schema_version = 6;

  /// Opens or creates the database and migrates it forward.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& file);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Result<int> user_version();

  // -- images ---------------------------------------------------------------
  Status upsert_image(const Image& image);
  Result<Image> get_image(const std::string& id);
  Result<std::vector<Image>> list_images();
  Status delete_image(const std::string& id);

  // -- VMs ------------------------------------------------------------------
  Status upsert_vm(const VmRecord& vm);
  Result<VmRecord> get_vm(const std::string& id);
  Result<std::vector<VmRecord>> list_vms();
  Status delete_vm(const std::string& id);

  // -- operations -------------------------------------------------------------
  Status upsert_operation(const OperationStatus& op);
  Result<OperationStatus> get_operation(const std::string& op_id);
  /// At daemon start: every operation still recorded as running was cut
  /// off by the previous process's end; records it as failed with
  /// `message` (finished at `now_us`). Returns how many there were.
  Result<int> fail_running_operations(const std::string& message, std::int64_t now_us);

  // -- cluster names this host owns ------------------------------------------
  Status upsert_name(const NameBinding& name);
  /// Succeeds whether or not `name` was there.
  Status erase_name(const std::string& name);
  /// Every name, ordered by name, as the owner loads them at start.
  Result<std::vector<NameBinding>> list_names();

  /// Group commit: applies every write in one transaction (one fsync), each
  /// in its own savepoint so a failing write does not undo the others.
  /// Returns one Status per write, in order; if the commit itself fails every
  /// write reports that failure.
  std::vector<Status> apply(const std::vector<Write>& writes);
  /// The same for groups of writes that belong together (the end of a VM
  /// operation: its record and the operation's status): all groups in one
  /// transaction, each group in one savepoint, so a group commits whole or
  /// not at all. One Status per group: the first failure of the group.
  std::vector<Status> apply_groups(const std::vector<std::vector<Write>>& groups);

private:
  explicit Store(std::unique_ptr<SQLite::Database> db);

  Status write_one(const Write& write);

  std::unique_ptr<SQLite::Database> db_;
  /// Prepared once, reused by every write; destroyed before db_.
  std::unique_ptr<rows::Statements> statements_;
};

} // namespace banger
