// Schema migrations, forward only: migration N brings user_version N-1 to N.
#pragma once

#include "messages/result.hpp"

namespace SQLite {
class Database;
} // namespace SQLite

namespace banger::schema {

/// Migrates `db` to the newest version inside one transaction per step.
/// A database newer than this binary is refused rather than touched.
Status migrate(SQLite::Database& db, int target_version);

} // namespace banger::schema
