#pragma once
// Applies the numbered schema/NNNN_name.sql files (embedded at build time) in order, inside one
// transaction, and refuses a database whose schema is newer than this binary knows.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace markerwatch::store {

struct SchemaFile {
  int version;
  std::string name;
  std::string sql;
};

// The files of schema/, in version order (generated from the source tree at build time).
const std::vector<SchemaFile>& embedded_schema();

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
};

// `still_working`, when given, is called about once a second while a schema file runs (an index
// rebuilt over a large table takes a while: the daemon tells systemd it is still starting).
struct MigrationProgress {
  std::function<void()> still_working;
  std::chrono::milliseconds every{1000};
};

MigrationReport migrate(Database& db, const std::vector<SchemaFile>& files = embedded_schema(),
                        const MigrationProgress& progress = {});
int schema_version(Database& db);
// For read-only use (no migration): throws StoreError when the file is not a markerwatch database
// or its schema is newer than this binary knows.
void check_schema_version(Database& db, const std::vector<SchemaFile>& files = embedded_schema());

}  // namespace markerwatch::store
