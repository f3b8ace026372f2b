#include "storage/schema.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include <array>
#include <string>

namespace banger::schema {

namespace {

// Each entry is one forward migration; never edit a released entry, append.
constexpr std::array<const char*, 6> migrations{{
  // 1: images, vms, operations.
  R"sql(
CREATE TABLE images (
  id            TEXT PRIMARY KEY CHECK (length(id) = 16),
  name          TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
  kernel_path   TEXT NOT NULL,
  initrd_path   TEXT NOT NULL DEFAULT '',
  rootfs_path   TEXT NOT NULL,
  boot_args     TEXT NOT NULL DEFAULT '',
  created_at_us INTEGER NOT NULL
);

CREATE TABLE vms (
  id                 TEXT PRIMARY KEY CHECK (length(id) = 16),
  name               TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
  image_id           TEXT NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
  cpus               INTEGER NOT NULL CHECK (cpus BETWEEN 1 AND 32),
  memory_mib         INTEGER NOT NULL CHECK (memory_mib BETWEEN 16 AND 1048576),
  created_at_us      INTEGER NOT NULL,
  updated_at_us      INTEGER NOT NULL,
  state              TEXT NOT NULL CHECK (state IN
                       ('created','starting','running','stopping','stopped','error')),
  stage              TEXT NOT NULL DEFAULT '',
  pid                INTEGER NOT NULL DEFAULT 0,
  pid_start_time     INTEGER NOT NULL DEFAULT 0,
  api_socket         TEXT NOT NULL DEFAULT '',
  vsock_path         TEXT NOT NULL DEFAULT '',
  vsock_cid          INTEGER NOT NULL UNIQUE CHECK (vsock_cid >= 3),
  guest_ip           TEXT NOT NULL UNIQUE,
  mac                TEXT NOT NULL UNIQUE,
  tap                TEXT NOT NULL DEFAULT '',
  rootfs_path        TEXT NOT NULL DEFAULT '',
  vm_dir             TEXT NOT NULL DEFAULT '',
  log_path           TEXT NOT NULL DEFAULT '',
  last_error         TEXT NOT NULL DEFAULT '',
  last_stop          TEXT NOT NULL DEFAULT '' CHECK (last_stop IN
                       ('','graceful','timeout','signal')),
  boot_vmm_spawned_us      INTEGER NOT NULL DEFAULT 0,
  boot_configured_us       INTEGER NOT NULL DEFAULT 0,
  boot_instance_started_us INTEGER NOT NULL DEFAULT 0,
  boot_guest_ready_us      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vms_image ON vms(image_id);

CREATE TABLE operations (
  op_id          TEXT PRIMARY KEY CHECK (length(op_id) = 15),
  kind           TEXT NOT NULL,
  vm_id          TEXT NOT NULL DEFAULT '',
  stage          TEXT NOT NULL DEFAULT '',
  stages_done    INTEGER NOT NULL DEFAULT 0,
  stages_total   INTEGER NOT NULL DEFAULT 0,
  outcome        TEXT NOT NULL CHECK (outcome IN ('running','succeeded','failed')),
  error_code     INTEGER NOT NULL DEFAULT 0,
  error_message  TEXT NOT NULL DEFAULT '',
  started_at_us  INTEGER NOT NULL,
  finished_at_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX operations_vm ON operations(vm_id);

CREATE TABLE operation_stages (
  op_id         TEXT NOT NULL REFERENCES operations(op_id) ON DELETE CASCADE,
  seq           INTEGER NOT NULL,
  name          TEXT NOT NULL,
  started_at_us INTEGER NOT NULL,
  duration_us   INTEGER NOT NULL,
  ok            INTEGER NOT NULL,
  PRIMARY KEY (op_id, seq)
);
)sql",
  // 2: last_stop 'guest' (the guest powered off or rebooted by itself).
  // SQLite cannot change a CHECK in place: the table is copied.
  R"sql(
CREATE TABLE vms_v2 (
  id                 TEXT PRIMARY KEY CHECK (length(id) = 16),
  name               TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
  image_id           TEXT NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
  cpus               INTEGER NOT NULL CHECK (cpus BETWEEN 1 AND 32),
  memory_mib         INTEGER NOT NULL CHECK (memory_mib BETWEEN 16 AND 1048576),
  created_at_us      INTEGER NOT NULL,
  updated_at_us      INTEGER NOT NULL,
  state              TEXT NOT NULL CHECK (state IN
                       ('created','starting','running','stopping','stopped','error')),
  stage              TEXT NOT NULL DEFAULT '',
  pid                INTEGER NOT NULL DEFAULT 0,
  pid_start_time     INTEGER NOT NULL DEFAULT 0,
  api_socket         TEXT NOT NULL DEFAULT '',
  vsock_path         TEXT NOT NULL DEFAULT '',
  vsock_cid          INTEGER NOT NULL UNIQUE CHECK (vsock_cid >= 3),
  guest_ip           TEXT NOT NULL UNIQUE,
  mac                TEXT NOT NULL UNIQUE,
  tap                TEXT NOT NULL DEFAULT '',
  rootfs_path        TEXT NOT NULL DEFAULT '',
  vm_dir             TEXT NOT NULL DEFAULT '',
  log_path           TEXT NOT NULL DEFAULT '',
  last_error         TEXT NOT NULL DEFAULT '',
  last_stop          TEXT NOT NULL DEFAULT '' CHECK (last_stop IN
                       ('','graceful','timeout','signal','guest')),
  boot_vmm_spawned_us      INTEGER NOT NULL DEFAULT 0,
  boot_configured_us       INTEGER NOT NULL DEFAULT 0,
  boot_instance_started_us INTEGER NOT NULL DEFAULT 0,
  boot_guest_ready_us      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO vms_v2 SELECT * FROM vms;
DROP TABLE vms;
ALTER TABLE vms_v2 RENAME TO vms;
CREATE INDEX vms_image ON vms(image_id);
)sql",
  // 3: whether an image's guest runs an SSH server (starts then wait for it
  // by default). Images registered before this knew nothing: no.
  R"sql(
ALTER TABLE images ADD COLUMN ssh INTEGER NOT NULL DEFAULT 0 CHECK (ssh IN (0, 1));
)sql",
  // 4: the VM names this host owns in a cluster (cluster/name_table.hpp):
  // where each name's VM is, or which create holds it until when. Not tied
  // to vms: the VM lives on whichever host `host` names.
  R"sql(
CREATE TABLE cluster_names (
  name          TEXT PRIMARY KEY,
  host          TEXT NOT NULL,
  vm_id         TEXT NOT NULL DEFAULT '',
  op_id         TEXT NOT NULL,
  bound         INTEGER NOT NULL CHECK (bound IN (0, 1)),
  expires_at_us INTEGER NOT NULL
);
)sql",
  // 5: paused and suspended VMs, a suspended VM's saved state, and named
  // snapshots. The state CHECK changes, so vms is copied (as in 2).
  R"sql(
CREATE TABLE vms_v3 (
  id                 TEXT PRIMARY KEY CHECK (length(id) = 16),
  name               TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
  image_id           TEXT NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
  cpus               INTEGER NOT NULL CHECK (cpus BETWEEN 1 AND 32),
  memory_mib         INTEGER NOT NULL CHECK (memory_mib BETWEEN 16 AND 1048576),
  created_at_us      INTEGER NOT NULL,
  updated_at_us      INTEGER NOT NULL,
  state              TEXT NOT NULL CHECK (state IN
                       ('created','starting','running','stopping','stopped','error',
                        'paused','suspended')),
  stage              TEXT NOT NULL DEFAULT '',
  pid                INTEGER NOT NULL DEFAULT 0,
  pid_start_time     INTEGER NOT NULL DEFAULT 0,
  api_socket         TEXT NOT NULL DEFAULT '',
  vsock_path         TEXT NOT NULL DEFAULT '',
  vsock_cid          INTEGER NOT NULL UNIQUE CHECK (vsock_cid >= 3),
  guest_ip           TEXT NOT NULL UNIQUE,
  mac                TEXT NOT NULL UNIQUE,
  tap                TEXT NOT NULL DEFAULT '',
  rootfs_path        TEXT NOT NULL DEFAULT '',
  vm_dir             TEXT NOT NULL DEFAULT '',
  log_path           TEXT NOT NULL DEFAULT '',
  last_error         TEXT NOT NULL DEFAULT '',
  last_stop          TEXT NOT NULL DEFAULT '' CHECK (last_stop IN
                       ('','graceful','timeout','signal','guest')),
  boot_vmm_spawned_us      INTEGER NOT NULL DEFAULT 0,
  boot_configured_us       INTEGER NOT NULL DEFAULT 0,
  boot_instance_started_us INTEGER NOT NULL DEFAULT 0,
  boot_guest_ready_us      INTEGER NOT NULL DEFAULT 0,
  saved_state_path   TEXT NOT NULL DEFAULT '',
  saved_memory_path  TEXT NOT NULL DEFAULT '',
  saved_size         INTEGER NOT NULL DEFAULT 0 CHECK (saved_size >= 0),
  saved_checksum     TEXT NOT NULL DEFAULT '',
  saved_at_us        INTEGER NOT NULL DEFAULT 0,
  saved_vmm          TEXT NOT NULL DEFAULT '',
  CHECK ((state = 'suspended') <= (saved_state_path <> ''))
);
INSERT INTO vms_v3 SELECT *, '', '', 0, '', 0, '' FROM vms;
DROP TABLE vms;
ALTER TABLE vms_v3 RENAME TO vms;
CREATE INDEX vms_image ON vms(image_id);
CREATE TABLE vm_snapshots (
  vm_id              TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
  name               TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 63),
  created_at_us      INTEGER NOT NULL,
  from_state         TEXT NOT NULL CHECK (from_state IN ('running','paused','stopped')),
  disk_path          TEXT NOT NULL,
  disk_size          INTEGER NOT NULL CHECK (disk_size >= 0),
  state_path         TEXT NOT NULL DEFAULT '',
  memory_path        TEXT NOT NULL DEFAULT '',
  size               INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
  checksum           TEXT NOT NULL DEFAULT '',
  saved_at_us        INTEGER NOT NULL DEFAULT 0,
  vmm                TEXT NOT NULL DEFAULT '',
  op_id              TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (vm_id, name)
);
)sql",
  // 6: published ports (vm create -p), fixed at create: one text column in
  // their canonical list form (messages/published_ports.hpp), no table.
  R"sql(
ALTER TABLE vms ADD COLUMN ports TEXT NOT NULL DEFAULT '' CHECK (length(ports) <= 1024);
)sql",
}};

} // namespace

Status migrate(SQLite::Database& db, int target_version) {
  try {
    int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version > static_cast<int>(migrations.size()))
      return Error{Errc::storage,
                   "database schema version " + std::to_string(version)
                     + " is newer than this banger (knows up to "
                     + std::to_string(migrations.size()) + ")"};
    while (version < target_version) {
      SQLite::Transaction tx(db);
      db.exec(migrations[static_cast<std::size_t>(version)]);
      ++version;
      // PRAGMA takes no bound parameters; version is an integer we control.
      db.exec("PRAGMA user_version = " + std::to_string(version));
      tx.commit();
    }
    return {};
  } catch (const SQLite::Exception& e) {
    return Error{Errc::storage, std::string("schema migration failed: ") + e.what()};
  }
}

} // namespace banger::schema
