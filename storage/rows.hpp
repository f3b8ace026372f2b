// Mapping between records and rows. Column order is fixed by the SELECT
// lists here; the store uses only these.
#pragma once

#include "messages/records.hpp"

namespace SQLite {
class Database;
class Statement;
} // namespace SQLite

namespace banger::rows {

extern const char* const image_columns;
extern const char* const vm_columns;
extern const char* const operation_columns;

Image read_image(SQLite::Statement& row);
VmRecord read_vm(SQLite::Statement& row);
OperationStatus read_operation(SQLite::Statement& row);

void write_image(SQLite::Database& db, const Image& image);
void write_vm(SQLite::Database& db, const VmRecord& vm);
void write_operation(SQLite::Database& db, const OperationStatus& op);

} // namespace banger::rows
