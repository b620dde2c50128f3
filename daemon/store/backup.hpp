#pragma once
// A copy of the database that can be taken while markerwatchd writes it: one read transaction
// (SQLite's VACUUM INTO), so the copy is the state of one moment, with every commit before it and
// none after; the daemon's writer goes on meanwhile (WAL).
#include <cstdint>
#include <string>

#include "store/database.hpp"

namespace markerwatch::store {

struct BackupReport {
  std::uintmax_t bytes = 0;
  int schema_version = 0;
  std::int64_t messages = 0;
  std::int64_t results = 0;
  std::int64_t alerts = 0;
};

// Writes the database `source` is connected to into `target`, a file that must not exist yet (its
// folder must): created with mode 0600 (health data), synced to disk with its folder entry, then
// opened again and checked (PRAGMA quick_check) before the counts are read from it. On any error
// the target is removed and StoreError says what failed; the source is only read.
BackupReport backup_database(Database& source, const std::string& target);

}  // namespace markerwatch::store
